/*
 * ferrokv: the few number conversions that must go through libc to match
 * Redis 7.0 bit for bit. Called from src/util/num.rs, which owns the safety
 * contract; nothing here allocates or keeps state.
 *
 * - INCRBYFLOAT works in C `long double` (80-bit x87 on x86-64), which Rust
 *   does not have: parse both operands with strtold, add, and print with
 *   "%.17Lf" minus trailing zeros, as Redis's string2ld/ld2string do.
 * - Doubles (scores, timeouts) are parsed with strtod and printed with
 *   "%.17g", so hex floats, "infinity", rounding and overflow rules are
 *   glibc's, like Redis's.
 *
 * The process never calls setlocale(LC_NUMERIC/LC_CTYPE), so the "C" locale
 * is in effect, as in redis-server (which only sets LC_COLLATE).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis's MAX_LONG_DOUBLE_CHARS: longer operands are not valid floats, and
 * it is also the size of the formatting buffer. */
#define FERROKV_MAX_LONG_DOUBLE_CHARS (5 * 1024)

#define FERROKV_ERR_NOT_FLOAT (-1)
#define FERROKV_ERR_NAN_OR_INF (-2)
#define FERROKV_ERR_NO_ROOM (-3)

/* Redis's string2ld(): reads exactly `slen` bytes (copied into a
 * NUL-terminated buffer, so `s` needs no terminator); rejects the empty
 * string, leading whitespace, trailing bytes (including an embedded NUL),
 * overflow, underflow to zero, and NaN. Infinity is accepted. */
static int parse_long_double(const char *s, size_t slen, long double *out) {
    char buf[FERROKV_MAX_LONG_DOUBLE_CHARS];
    char *eptr;
    long double value;

    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';

    errno = 0;
    value = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        (size_t)(eptr - buf) != slen ||
        (errno == ERANGE &&
         (value == HUGE_VAL || value == -HUGE_VAL || value == 0)) ||
        errno == EINVAL || isnan(value))
        return 0;
    *out = value;
    return 1;
}

/* Redis's ld2string(..., LD_STR_HUMAN) for a finite value: "%.17Lf", then
 * trailing zeros and a bare trailing '.' removed, and "-0" turned into "0".
 * Returns the length written (without terminator), or -3 if it did not fit
 * (cannot happen with FERROKV_MAX_LONG_DOUBLE_CHARS bytes: the largest long
 * double has 4933 integer digits). */
static int format_long_double_human(char *buf, size_t len, long double value) {
    int n = snprintf(buf, len, "%.17Lf", value);
    size_t l;

    if (n < 0 || (size_t)n + 1 > len) return FERROKV_ERR_NO_ROOM;
    l = (size_t)n;
    if (strchr(buf, '.') != NULL) {
        char *p = buf + l - 1;
        while (*p == '0') {
            p--;
            l--;
        }
        if (*p == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    buf[l] = '\0';
    return (int)l;
}

/* INCRBYFLOAT arithmetic: `cur` is the stored value (pass "0" for a missing
 * key, which Redis treats as 0), `incr` the increment; neither needs a
 * terminator. Writes the new value to `out` (at least
 * FERROKV_MAX_LONG_DOUBLE_CHARS bytes) and returns its length, or
 * -1 if either operand is not a valid float (the current value is checked
 * first, as in Redis), -2 if the sum is NaN or infinite, -3 if `out` is too
 * small. */
int ferrokv_incrbyfloat(const char *cur, size_t curlen, const char *incr,
                        size_t incrlen, char *out, size_t outlen) {
    long double value, by;

    if (!parse_long_double(cur, curlen, &value) ||
        !parse_long_double(incr, incrlen, &by))
        return FERROKV_ERR_NOT_FLOAT;
    value += by;
    if (isnan(value) || isinf(value)) return FERROKV_ERR_NAN_OR_INF;
    return format_long_double_human(out, outlen, value);
}

/* Redis's string2d() / getDoubleFromObject(): `s` must be NUL-terminated at
 * `slen` (strtod needs it). Same rejections as parse_long_double, without
 * the length cap. Returns 1 and sets *out on success, 0 otherwise. */
int ferrokv_string2d(const char *s, size_t slen, double *out) {
    char *eptr;
    double value;

    if (slen == 0 || isspace((unsigned char)s[0])) return 0;
    errno = 0;
    value = strtod(s, &eptr);
    if ((size_t)(eptr - s) != slen ||
        (errno == ERANGE &&
         (value == HUGE_VAL || value == -HUGE_VAL || value == 0)) ||
        isnan(value))
        return 0;
    *out = value;
    return 1;
}

/* "%.17g" as used by Redis 7.0's addReplyDouble (infinities spelled
 * "inf"/"-inf" explicitly there; glibc agrees). Returns the length, or -3
 * if `out` is too small (32 bytes always suffice). */
int ferrokv_format_double(double value, char *out, size_t outlen) {
    int n;

    if (isinf(value)) {
        n = snprintf(out, outlen, "%s", value > 0 ? "inf" : "-inf");
    } else {
        n = snprintf(out, outlen, "%.17g", value);
    }
    if (n < 0 || (size_t)n + 1 > outlen) return FERROKV_ERR_NO_ROOM;
    return n;
}

/* Redis 7.0's getTimeoutFromObjectOrReply(..., UNIT_SECONDS) before the
 * clock is added: the argument parsed by string2ld, then
 * (long long) ceill(value * 1000.0), in milliseconds. Converting a long
 * double outside the long long range is undefined in C; x86-64 (where Redis
 * runs) yields LLONG_MIN, which Redis then reports as a negative timeout, so
 * that result is produced explicitly here (infinities included). Returns 1
 * and sets *out_ms, or 0 when the argument is not a float. */
int ferrokv_timeout_ms(const char *s, size_t slen, long long *out_ms) {
    long double value, ms;

    if (!parse_long_double(s, slen, &value)) return 0;
    ms = ceill(value * 1000.0);
    if (!(ms >= -9223372036854775808.0L && ms < 9223372036854775808.0L))
        *out_ms = (-9223372036854775807LL - 1);
    else
        *out_ms = (long long)ms;
    return 1;
}
