/* ARPA lines in one pass: seqlm.ngram.arpa.lines without the padded byte matrices.
 *
 * Each line is `prob<TAB>w1 w2 ... wk[<TAB>backoff]<NL>`, its numbers the shortest decimal
 * that reads back as the same float32, computed exactly as seqlm.ngram.byte_layout does it
 * (the same float64 operations in the same order, the powers of ten passed in from NumPy):
 * the closest decimal with 9, 8, 7 and 6 significant digits, the last that reads back wins,
 * trailing zeros go. A backoff of 0 is left out, tab and all. Values the reference formats
 * one by one in Python (|x| >= 1000, 0 < |x| < 1e-8, not finite) stop the pass: the caller
 * writes that line with the NumPy reference and calls again from the next one.
 * Compiled and loaded by seqlm.ngram.arpa_c (ctypes); C99, no library but libm.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_DECIMALS 16

static const int64_t POW10[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL};

/* The shortest float32 decimal of v at out; its length, or -1 where the reference formats
 * v in Python (see above). pow10f[e + 30] is NumPy's 10.0 ** e. */
static int64_t number(float value, const double *pow10f, uint8_t *out) {
    double v = (double)value, a = fabs(v);
    if (!isfinite(a) || a >= 1000.0 || (a > 0.0 && a < 1e-8)) return -1;
    /* floor(log10(a)) as the reference takes it (0 -> -1): the largest e with 10.0 ** e <= a,
     * found from a's binary exponent; equal to NumPy's floor(log10(a)) corrected downward
     * for every float32 in [1e-8, 1000), checked value by value (tests/ngram/test_arpa_c.py) */
    int64_t e = -1;
    if (a > 0.0) {
        int binary;
        frexp(a, &binary);
        e = (int64_t)floor((binary - 1) * 0.30102999566398120);
        while (pow10f[e + 30] > a) e -= 1;
        while (pow10f[e + 31] <= a) e += 1;
    }
    float target = (float)a;
    double scaled = 0.0;
    int64_t decimals = 0;
    /* the fewest of 6, 7, 8 significant digits that read back, else 9 (which always do) */
    for (int digits = 6; digits <= 9; digits++) {
        int64_t d = digits - 1 - e;
        d = d < 0 ? 0 : (d > MAX_DECIMALS ? MAX_DECIMALS : d);
        double power = pow10f[d + 30];
        scaled = rint(a * power);
        decimals = d;
        if ((float)(scaled / power) == target) break;
    }
    int64_t s = (int64_t)scaled;
    while (decimals > 0 && s % 10 == 0) {
        s /= 10;
        decimals -= 1;
    }
    int64_t integer = s / POW10[decimals], fraction = s - integer * POW10[decimals];
    if (integer >= 1000) return -1;
    int64_t n = 0;
    if (v < 0.0 && s > 0) out[n++] = '-';
    if (integer >= 100) out[n++] = (uint8_t)('0' + integer / 100);
    if (integer >= 10) out[n++] = (uint8_t)('0' + integer / 10 % 10);
    out[n++] = (uint8_t)('0' + integer % 10);
    if (decimals > 0) {
        out[n++] = '.';
        for (int64_t i = decimals - 1; i >= 0; i--) {
            out[n + i] = (uint8_t)('0' + fraction % 10);
            fraction /= 10;
        }
        n += decimals;
    }
    return n;
}

/* Lines of rows [first, n) into out (cap bytes), stopping before a line that might not fit
 * (each takes at most 2 * 24 + k * (max_token + 1) + 2 bytes: line_max) or at a value the
 * reference formats in Python. words[j * stride + i] is word j of row i; token t is
 * blob[offsets[t] .. offsets[t + 1]). backoff may be NULL (the highest order). Returns the
 * bytes written; *rows the row it stopped at (n when done); *stopped 1 where a value
 * stopped the pass. Reads its arguments and writes only out, rows and stopped: calls on
 * other rows and buffers may run at once in threads. */
int64_t arpa_lines(int64_t first, int64_t n, const float *prob, const float *backoff, int64_t k,
                   const int64_t *words, int64_t stride, const uint8_t *blob, const int64_t *offsets,
                   const double *pow10f, int64_t line_max, uint8_t *out, int64_t cap,
                   int64_t *rows, int64_t *stopped) {
    int64_t pos = 0, i = first;
    for (; i < n && pos + line_max <= cap; i++) {
        int64_t start = pos, len = number(prob[i], pow10f, out + pos);
        if (len < 0) break;
        pos += len;
        for (int64_t j = 0; j < k; j++) {
            int64_t t = words[j * stride + i], w = offsets[t + 1] - offsets[t];
            out[pos++] = j == 0 ? '\t' : ' ';
            memcpy(out + pos, blob + offsets[t], (size_t)w);
            pos += w;
        }
        if (backoff != NULL && backoff[i] != 0.0f) {
            out[pos++] = '\t';
            len = number(backoff[i], pow10f, out + pos);
            if (len < 0) {
                pos = start;
                break;
            }
            pos += len;
        }
        out[pos++] = '\n';
    }
    *rows = i;
    *stopped = i < n && pos + line_max <= cap;
    return pos;
}
