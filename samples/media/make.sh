#!/usr/bin/env bash
# Regenerates the media samples of this folder with Debian 12's tools. Documentation of how the
# committed files were made; CI never runs it (the emulator embeds the committed bytes, and a new
# run gives files that look the same but differ in bytes: encoders and PDF dates change them).
#
#   apt-get install -y ffmpeg imagemagick ghostscript paps fonts-wqy-microhei
#   bash samples/media/make.sh
set -euo pipefail
cd "$(dirname "$0")"

FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
[ -r "$FONT" ] || { echo "needs fonts-wqy-microhei ($FONT)" >&2; exit 1; }
# Debian's convert may be wrapped on some machines; call ImageMagick 6 by its own name.
IM=convert-im6.q16
command -v "$IM" >/dev/null || IM=convert

# photo.jpg: a photo-like landscape, 640x426 — a sky gradient, hills textured by a plasma fractal
# (fixed seed) under a curved mask, sun and clouds, film grain, and a caption bar in Chinese.
# Baseline JPEG, quality 82, no metadata.
"$IM" -size 640x426 gradient:'#5fa8e0'-'#e6f2fa' \
  \( -seed 20231106 -size 640x426 plasma:'#6a9a4a'-'#2f5a2a' -blur 0x1 \) \
  \( -size 640x426 xc:black -fill white \
     -draw 'path "M 0,250 C 120,200 220,215 330,260 C 430,300 520,230 640,245 L 640,426 L 0,426 Z"' \) \
  -composite \
  -fill '#fff6d0' -draw 'circle 520,90 520,122' \
  -fill '#ffffffb0' -draw 'ellipse 150,80 70,18 0,360' -draw 'ellipse 200,70 50,16 0,360' \
  -attenuate 0.35 +noise Gaussian -blur 0x0.6 \
  -fill '#0008' -draw 'rectangle 0,356 640,426' \
  -font "$FONT" -pointsize 26 -fill white -annotate +24+400 '上海办公室 · 客户拜访合影 2023-11-06' \
  -strip -interlace none -quality 82 photo.jpg

# chart.png: a bar chart of a quarter's signed contracts, 480x320, 8-bit palette, no time chunks.
"$IM" -size 480x320 xc:white -font "$FONT" \
  -fill '#333' -pointsize 20 -annotate +20+32 '第四季度合同签约额（万元）' \
  -stroke '#999' -draw 'line 60,280 450,280' -draw 'line 60,60 60,280' -stroke none \
  -fill '#4e79a7' -draw 'rectangle 90,160 150,280' \
  -fill '#f28e2b' -draw 'rectangle 190,110 250,280' \
  -fill '#59a14f' -draw 'rectangle 290,80 350,280' \
  -fill '#e15759' -draw 'rectangle 390,130 450,280' \
  -fill '#333' -pointsize 16 \
  -annotate +100+302 '十月' -annotate +200+302 '十一月' -annotate +300+302 '十二月' -annotate +392+302 '一月' \
  -annotate +104+152 '120' -annotate +204+102 '170' -annotate +304+72 '200' -annotate +404+122 '150' \
  -strip -colors 64 -define png:exclude-chunks=date,time PNG8:chart.png

# sticker.png: a 160x160 emotion sticker (emotion type 2), transparent background.
"$IM" -size 160x160 xc:none \
  -fill '#ffcc33' -stroke '#c8901a' -strokewidth 4 -draw 'circle 80,80 80,8' \
  -fill '#333' -stroke none -draw 'circle 55,62 55,72' -draw 'circle 105,62 105,72' \
  -fill none -stroke '#333' -strokewidth 6 -draw 'arc 45,70 115,125 20,160' \
  -strip -define png:exclude-chunks=date,time sticker.png

# thumb.gif: an animated 120x120 emotion (emotion type 1): a face whose eyes blink, 4 frames.
frames=()
for i in 0 1 2 3; do
  eye=$([ "$i" = 2 ] && echo 1 || echo 9)
  "$IM" -size 120x120 xc:white \
    -fill '#ffcc33' -stroke '#c8901a' -strokewidth 3 -draw 'circle 60,60 60,6' \
    -fill '#333' -stroke none \
    -draw "ellipse 42,48 7,$eye 0,360" -draw "ellipse 78,48 7,$eye 0,360" \
    -fill none -stroke '#333' -strokewidth 5 -draw "arc 34,52 86,$((92 + i * 2)) 20,160" \
    "frame$i.png"
  frames+=("frame$i.png")
done
"$IM" -delay 25 -loop 0 "${frames[@]}" -colors 16 -layers Optimize thumb.gif
rm -f "${frames[@]}"

# clip.mp4: 4 s, 320x240, 25 fps H.264 (High profile, yuv420p, a keyframe every second so a
# browser can seek) + 48 kHz mono AAC (a 440 Hz tone with a beep each second); moov atom first.
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i 'testsrc2=size=320x240:rate=25:duration=4' \
  -f lavfi -i 'sine=frequency=440:beep_factor=4:sample_rate=48000:duration=4' \
  -vf "drawtext=fontfile=$FONT:text='会话存档演示视频':fontsize=22:fontcolor=white:box=1:boxcolor=black@0.6:x=(w-text_w)/2:y=h-40" \
  -c:v libx264 -preset medium -crf 30 -pix_fmt yuv420p -g 25 -keyint_min 25 -sc_threshold 0 \
  -c:a aac -b:a 48k -ac 1 \
  -map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  -movflags +faststart clip.mp4

# report.pdf: two A4 pages of Chinese text, laid out by paps (Pango, to PostScript) in
# WenQuanYi Micro Hei, then converted by Ghostscript's ps2pdf (PDF 1.4, fonts as outlines).
cat > report.txt <<'EOF'
本季度合同执行情况报告

一、概述
本报告汇总第四季度客户合同的签约、回款与续约情况，供销售团队内部参考。
本季度共签订新合同 42 份，合同总额 640 万元，较上季度增长 18%。

二、签约情况
十月：12 份，120 万元
十一月：14 份，170 万元
十二月：16 份，200 万元
重点客户：上海某贸易公司、杭州某科技公司、深圳某制造企业。

三、回款情况
已回款 510 万元，回款率 79.7%。逾期未回款合同 3 份，均已安排专人跟进。

四、续约与风险
到期合同 20 份，已续约 17 份。两份合同因价格条款仍在谈判中，
一份合同因客户业务调整暂缓续约。

五、下季度计划
1. 完成全部到期合同的续约谈判；
2. 合同模板统一由法务审核后发布；
3. 每月第一个周一同步合同执行进度。
EOF
{ cat report.txt; printf '\f'; cat <<'EOF'
附录：合同编号与状态

HT-2023-1001  已签约  已回款
HT-2023-1002  已签约  部分回款
HT-2023-1003  谈判中  —
HT-2023-1004  已签约  已回款
HT-2023-1005  已续约  已回款

本文件仅用于会话存档演示，内容均为虚构。
EOF
} > report-full.txt
paps --font='WenQuanYi Micro Hei 12' --paper=a4 report-full.txt > report.ps
ps2pdf -dPDFSETTINGS=/ebook -dCompatibilityLevel=1.4 report.ps report.pdf
rm -f report.txt report-full.txt report.ps

ls -l photo.jpg chart.png sticker.png thumb.gif clip.mp4 report.pdf
