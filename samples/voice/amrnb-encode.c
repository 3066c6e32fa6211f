/* Encodes raw 8 kHz mono s16le PCM (stdin) into an AMR-NB file (stdout) with the `#!AMR\n`
 * storage header, at 12.2 kbit/s, using Debian's libopencore-amrnb (Apache-2.0).
 * Build: gcc amrnb-encode.c $(pkg-config --cflags --libs opencore-amrnb) -o amrnb-encode */
#include <stdio.h>
#include <string.h>
#include <opencore-amrnb/interf_enc.h>

int main(void) {
    void *enc = Encoder_Interface_init(0);
    short pcm[160];
    unsigned char frame[64];
    size_t got;
    if (!enc) return 1;
    fwrite("#!AMR\n", 1, 6, stdout);
    /* The last, partial 20 ms frame is padded with silence. */
    while ((got = fread(pcm, sizeof(short), 160, stdin)) > 0) {
        if (got < 160) memset(pcm + got, 0, (160 - got) * sizeof(short));
        int n = Encoder_Interface_Encode(enc, MR122, pcm, frame, 0);
        if (n < 0) return 1;
        fwrite(frame, 1, (size_t)n, stdout);
    }
    Encoder_Interface_exit(enc);
    return 0;
}
