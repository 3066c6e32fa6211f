#!/usr/bin/env bash
# Regenerates the voice samples in this folder (documentation of how they were made; CI does not
# run it). Needs Debian 12's espeak-ng, sox, gcc, pkg-config and libopencore-amrnb-dev, and PyPI's
# pilk 0.2.4 (a Python binding of the Skype SILK SDK, used here as a tool only):
#   apt-get install -y espeak-ng sox gcc pkg-config libopencore-amrnb-dev
#   python3 -m pip install pilk==0.2.4
# The output is deterministic for a given espeak-ng/sox/encoder version, not across versions.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

text="你好，这是一条会话存档的测试语音。"

# 1. Mandarin speech from espeak-ng (22.05 kHz mono s16), then raw mono s16le PCM at the two
#    rates the codecs take: 8 kHz for AMR-NB, 24 kHz for SILK (what WeCom clients record).
espeak-ng -v cmn -s 175 -w "$work/speech.wav" "$text"
sox "$work/speech.wav" -r 8000 -c 1 -b 16 -e signed-integer -t raw "$work/speech-8k.pcm"
sox "$work/speech.wav" -r 24000 -c 1 -b 16 -e signed-integer -t raw "$work/speech-24k.pcm"

# 2. AMR-NB at 12.2 kbit/s, `#!AMR\n` storage format (amrnb-encode.c, opencore's encoder).
gcc -O2 amrnb-encode.c $(pkg-config --cflags --libs opencore-amrnb) -o "$work/amrnb-encode"
"$work/amrnb-encode" < "$work/speech-8k.pcm" > voice-zh.amr

# 3. SILK v3 at 24 kHz, 20 ms packets, with the leading 0x02 byte Tencent's clients write
#    (`tencent=True` gives `\x02#!SILK_V3`; the file ends without the 0xFFFF end marker).
python3 - "$work/speech-24k.pcm" voice-zh.silk <<'PY'
import sys, pilk
pilk.encode(sys.argv[1], sys.argv[2], pcm_rate=24000, tencent=True)
PY

ls -l voice-zh.amr voice-zh.silk
