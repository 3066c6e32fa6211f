//! Phrase banks: realistic sales, banking, insurance and customer-service chat lines, plus the
//! titles, places and file names the other message types need. Data only.

pub(crate) const CHAT_LINES: &[&str] = &[
    "您好，我是您的专属客户经理，有任何问题随时联系我",
    "好的，收到",
    "收到，谢谢",
    "嗯嗯",
    "好的好的",
    "明白了",
    "麻烦您把身份证正反面拍一下发我",
    "这款产品的业绩比较基准是年化3.2%，期限是181天",
    "上周说的那款理财，今天额度放出来了，您看要不要预约一下？",
    "您的车险下个月15号到期，我先帮您算一下续保的价格",
    "今年的保费比去年便宜了一点，因为您去年没有出险",
    "方便的话明天下午来网点签一下字",
    "合同我已经发您邮箱了，请查收",
    "请问您现在方便接电话吗？",
    "刚才电话没打通，您看到回我一下",
    "这个需要您本人到柜台办理哦",
    "手机银行上也可以操作，我把步骤截图发给您",
    "转账限额可以在手机银行里调整",
    "您的信用卡账单日是每月5号，还款日是25号",
    "分期的手续费是每期0.6%，12期的话总共7.2%",
    "这个基金最近回撤有点大，建议您继续定投摊低成本",
    "定投建议选择每周四，避开节假日",
    "我们这边有个客户答谢会，周六下午两点，您有空来参加吗？",
    "会上有专家讲今年下半年的市场展望",
    "停车可以停在地下二层，凭邀请函免费",
    "理赔材料齐全的话一般3-5个工作日到账",
    "医院的发票原件需要寄过来，复印件不行",
    "快递地址：上海市浦东新区世纪大道100号 15楼 理赔中心收",
    "您家孩子今年几岁了？教育金可以早点规划",
    "重疾险建议保额至少覆盖三到五年的收入",
    "百万医疗险每年都要续保，这个要注意",
    "年金险是保证领取的，写进合同里的",
    "您考虑得怎么样了？",
    "没问题，我这边给您申请一下",
    "领导已经批了，利率可以给到3.45%",
    "贷款审批下来了，明天放款",
    "请您在APP上点一下确认，验证码5分钟内有效",
    "千万不要把验证码告诉任何人，包括我们的工作人员",
    "最近电信诈骗比较多，您多注意",
    "您好，请问是王先生吗？",
    "我是上次在展会上加您微信的小李",
    "方便的时候可以聊一下贵公司的团险需求",
    "我们可以根据员工人数定制方案",
    "报价单稍后发您，有问题随时沟通",
    "今天系统升级，转账可能会有延迟",
    "已经帮您登记了，后续有进展第一时间通知您",
    "不好意思久等了",
    "非常抱歉给您带来不便",
    "您反馈的问题我已经提交给后台了",
    "工单号是 CS20231108-0042，请您保存好",
    "您的满意是我们最大的动力",
    "周末愉快！",
    "中秋节快乐，阖家幸福",
    "新年快乐，祝您财源广进",
    "今天股市大跌，您的持仓我看了一下，问题不大",
    "别慌，长期来看还是要拉长周期看",
    "存款利率下个月可能还要下调，建议早点锁定",
    "大额存单三年期现在是2.35%",
    "外币理财也可以考虑，美元的收益率还不错",
    "您的风险评估到期了，需要重新做一下",
    "问卷一共十道题，两分钟就能做完",
    "明天上午十点开晨会，大家准时参加",
    "本周业绩目标还差20万，大家加油",
    "这个客户我来跟进",
    "客户说下周再考虑",
    "我下午外出拜访客户，有事打我电话",
    "报销单已经提交了，麻烦领导审批一下",
    "周报记得周五下班前提交",
    "合规提醒：不得向客户承诺收益",
    "录音录像的双录流程不能省",
    "会议室已经订好了，3楼301",
    "中午一起吃饭吗？",
    "楼下新开了一家面馆，味道不错",
    "我今天请假，工作已经交接给小王了",
    "收到，我马上处理",
    "这个我确认一下再回复您",
    "系统显示您的申请还在审核中",
    "您看一下这个方案是否合适",
    "价格方面还可以再商量",
    "谢谢您的信任！",
    "有任何疑问随时找我 😊",
    "好的，那就这么定了",
    "辛苦了！",
    "我已经到楼下了",
    "稍等，我查一下",
    "对的，没错",
    "是的，需要提前一天预约",
    "嗯，我跟家里人商量一下",
    "这个收益能保证吗？",
    "会不会亏本啊？",
    "我想把定期提前取出来，利息怎么算？",
    "提前支取按活期利率计算",
    "卡丢了怎么办？",
    "您可以先在手机银行上临时挂失",
    "新卡大概一周后寄到",
    "我们这里有个开户送礼品的活动",
    "礼品是一套炊具，数量有限",
    "麻烦帮我查一下上个月的流水",
    "流水单可以在APP上导出PDF",
    "利息到账了吗？",
    "已经到了，您查看一下",
    "保单号 P202311080001234，您记一下",
    "退保的话会有一定损失，您再考虑考虑",
    "犹豫期内退保是全额退还的",
    "您的体检报告有个小结节，可能需要加费承保",
    "核保结果出来了：标准体承保",
    "恭喜，保单已经生效",
    "给您寄了一份纸质保单，注意查收",
    "好嘞👌",
    "👍",
    "🙏🙏🙏",
    "[微笑]",
    "[抱拳][抱拳]",
    "[强]",
    "[玫瑰]",
    "哈哈哈",
    "OK",
    "ok的",
    "1",
    "？",
    "在吗",
    "在的",
    "早上好☀️",
    "晚安🌙",
];

pub(crate) const ENGLISH_LINES: &[&str] = &[
    "Hi, could you send me the latest quotation?",
    "Thanks, noted.",
    "Let's schedule a call tomorrow at 10am.",
    "The contract has been signed, please check your email.",
    "Sure, no problem!",
    "Please find the attached product brochure.",
    "Our wealth management team will follow up.",
    "Could you confirm your mailing address?",
    "Happy holidays! 🎄",
    "The fund NAV is updated every trading day.",
    "I'll be out of office until Monday.",
    "Meeting moved to Room 301.",
];

/// Short additions: WeChat emoji codes, Unicode emoji (4-byte UTF-8), rare CJK Extension B
/// characters (also 4-byte), punctuation that needs escaping.
pub(crate) const DECORATIONS: &[&str] = &[
    "[微笑]",
    "[握手]",
    "[抱拳]",
    "[玫瑰]",
    "[强]",
    "[OK]",
    "[愉快]",
    "[捂脸]",
    "👍",
    "🙏",
    "😊",
    "🌹",
    "🎉",
    "💰",
    "😂😂",
    "👌🏻",
    "❤️",
    "𠮷",
    "𡈼𨋢",
    "~",
    "!!!",
    "……",
    "\"重要\"",
    "（路径 C:\\资料\\合同）",
];

pub(crate) const PLACES: &[(&str, &str, f64, f64)] = &[
    (
        "恒信大厦",
        "上海市浦东新区世纪大道100号",
        121.502271,
        31.238128,
    ),
    (
        "星巴克(国贸店)",
        "北京市朝阳区建国门外大街1号国贸商城",
        116.458953,
        39.909722,
    ),
    (
        "招商银行(科技园支行)",
        "广东省深圳市南山区科苑路15号",
        113.952438,
        22.540681,
    ),
    (
        "西湖文化广场",
        "浙江省杭州市下城区中山北路",
        120.169281,
        30.276905,
    ),
    (
        "天府软件园",
        "四川省成都市高新区天府大道中段1268号",
        104.069536,
        30.544097,
    ),
    (
        "人民医院门诊楼",
        "江苏省南京市鼓楼区中山路321号",
        118.783569,
        32.063254,
    ),
    (
        "车管所",
        "广东省广州市天河区龙口西路",
        113.333878,
        23.146102,
    ),
];

pub(crate) const LINKS: &[(&str, &str, &str)] = &[
    (
        "邀请你加入群聊",
        "VIP客户服务群，进入可查看详情",
        "https://work.weixin.qq.com/wework_admin/external_room/join/exceed?vcode=x8Xk2",
    ),
    (
        "2023年第四季度市场展望",
        "宏观经济、债市与权益市场的机会",
        "https://mp.weixin.qq.com/s/q4_outlook_2023",
    ),
    (
        "重疾险怎么买？一篇看懂",
        "保额、保障期限、等待期全解析",
        "https://mp.weixin.qq.com/s/critical_illness_guide",
    ),
    (
        "Fund factsheet (English)",
        "Monthly performance and holdings",
        "https://example.com/funds/factsheet?id=A001&lang=en",
    ),
    (
        "理赔进度查询",
        "输入保单号即可查询",
        "https://m.example.com/claims/query?from=wecom",
    ),
];

pub(crate) const WEAPPS: &[(&str, &str, &str, &str)] = &[
    (
        "开始聊天前请仔细阅读服务须知事项",
        "客户需同意存档聊天记录",
        "gh_7a3b5c9d1e2f@app",
        "服务须知",
    ),
    (
        "车险一键报价",
        "30秒算出您的车险保费",
        "gh_b1c2d3e4f5a6@app",
        "车险报价",
    ),
    (
        "预约网点服务",
        "免排队，到店即办",
        "gh_0f9e8d7c6b5a@app",
        "网点预约",
    ),
];

pub(crate) const FILES: &[(&str, &str)] = &[
    ("资料", "docx"),
    ("产品说明书", "pdf"),
    ("2023年度客户名单", "xlsx"),
    ("理赔申请表", "docx"),
    ("投保须知", "pdf"),
    ("报价单_远景科技", "xlsx"),
    ("季度汇报", "pptx"),
    ("合同扫描件", "zip"),
    ("readme", "txt"),
    ("Q4 Sales Report", "pdf"),
    ("会议纪要 11.08", "docx"),
    ("LICENSE", ""),
];

pub(crate) const TODOS: &[(&str, &str)] = &[
    ("客户回访", "周五前完成VIP客户电话回访"),
    ("续保提醒", "联系王先生办理车险续保"),
    ("资料补充", "补齐理赔所需的医院发票原件"),
    ("周报", "提交本周业绩周报"),
];

pub(crate) const VOTES: &[(&str, &[&str])] = &[
    ("年会地点投票", &["三亚", "丽江", "本地酒店"]),
    ("下周培训时间", &["周二下午", "周三上午", "周四下午"]),
    ("团建活动", &["爬山", "剧本杀", "聚餐"]),
];

pub(crate) const COLLECT_TITLES: &[&str] = &["客户答谢会报名", "团险人数统计", "培训签到表"];

pub(crate) const COLLECT_QUESTIONS: &[(&str, &str)] = &[
    ("姓名", "Text"),
    ("联系电话", "Number"),
    ("参加人数", "Number"),
    ("到达日期", "Date"),
    ("到达时间", "Time"),
    ("备注", "Text"),
];

pub(crate) const WISHES: &[&str] = &[
    "恭喜发财，大吉大利",
    "新年快乐",
    "辛苦了，喝杯奶茶",
    "业绩达标奖励",
];

pub(crate) const MEETING_TOPICS: &[&str] = &[
    "夕会",
    "周例会",
    "客户方案评审",
    "Q4业绩复盘会",
    "新产品培训",
];

pub(crate) const DOCS: &[(&str, &str)] = &[
    (
        "测试&演示客户",
        "https://doc.weixin.qq.com/txdoc/excel?docid=e2_AAAA1",
    ),
    ("客户跟进表", "https://doc.weixin.qq.com/sheet/e3_BBBB2"),
    ("产品FAQ", "https://doc.weixin.qq.com/doc/w3_CCCC3"),
];

pub(crate) const MARKDOWNS: &[&str] = &[
    "请前往系统查看，谢谢。",
    "### 今日业绩播报\n> 销售一部：<font color=\"info\">128万</font>\n> 销售二部：<font color=\"warning\">86万</font>\n**请大家继续加油！**",
    "**提醒**：今天是周报提交截止日，请于18:00前提交。[点击填写](https://example.com/weekly)",
    "#### 产品净值更新\n- 稳健1号：1.0523\n- 成长2号：0.9871",
];

pub(crate) const NEWS: &[(&str, &str, &str, &str)] = &[
    (
        "本周市场回顾",
        "A股三大指数集体收涨",
        "https://example.com/news/weekly",
        "https://example.com/img/weekly.jpg",
    ),
    (
        "service ",
        "test",
        "http://example.com/xxx",
        "https://www.qq.com/xxx.jpg",
    ),
    (
        "新品上线：稳享年金",
        "保证领取20年",
        "https://example.com/products/annuity",
        "https://example.com/img/annuity.png",
    ),
];

pub(crate) const SPH: &[(&str, &str)] = &[
    (
        "云游天地旅行家",
        "瑞士丨盖尔默缆车，名副其实的过山车~\n\n#旅行#风景#热门",
    ),
    ("理财小课堂", "三分钟看懂基金定投 #理财 #基金"),
    ("保险那些事儿", "重疾险和医疗险有什么区别？"),
];

pub(crate) const DISK_FILES: &[&str] = &[
    ".sys.log",
    "2023产品手册.pdf",
    "客户资料汇总.xlsx",
    "培训视频.mp4",
];

pub(crate) const CHATRECORD_TITLES: &[&str] = &["群聊", "聊天记录", "客户沟通记录"];
