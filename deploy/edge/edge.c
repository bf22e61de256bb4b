/* housing-edge: CSV rows on stdin, one prediction per line on stdout, by the integer
 * kernel; what `housing predict --integer` prints, without Python. The CLI's column rules:
 * a header row names the columns (matched by name, surrounding spaces ignored; the others
 * ignored), blank lines are skipped, and the first bad row or value ends it with one line
 * on stderr and exit status 2, after every row before it is answered. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "housing_model.h"
#include "housing_model_float.h"

#define MAX_LINE 65536
#define MAX_FIELDS 1024

static const char *const NAMES[HOUSING_N_FEATURES] = HOUSING_FEATURE_NAMES;
static char line[MAX_LINE + 2], cells[MAX_LINE + 2];
static char *field[MAX_FIELDS];
static long line_no;
static const char *source = "<stdin>";

static void fail(const char *format, ...)
{
    va_list args;
    fflush(stdout);
    fprintf(stderr, "housing-edge: error: %s", source);
    if (line_no)
        fprintf(stderr, ", line %ld", line_no);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    exit(2);
}

/* how a value reads in a message: quoted, unprintable bytes escaped, cut short */
static const char *shown(const char *s)
{
    static char out[4 * 40 + 8];
    size_t n = strlen(s), o = 0;
    out[o++] = '\'';
    for (size_t i = 0; i < n && i < (n > 40 ? 37 : 40); i++)
        o += (size_t)(isprint((unsigned char)s[i]) && s[i] != '\'' && s[i] != '\\'
                          ? sprintf(out + o, "%c", s[i])
                          : sprintf(out + o, "\\x%02x", (unsigned char)s[i]));
    sprintf(out + o, "%s'", n > 40 ? "..." : "");
    return out;
}

/* the feature names, comma-separated, for messages */
static const char *features(void)
{
    static char out[HOUSING_N_FEATURES * 64];
    for (int j = 0; j < HOUSING_N_FEATURES; j++)
        strcat(strcat(out, j ? ", " : ""), NAMES[j]);
    return out;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

/* the fields of `line` into `field`, quotes as CSV has them; returns how many */
static int split(void)
{
    int n = 0;
    char *in = line, *out = cells;
    for (;;) {
        if (n == MAX_FIELDS)
            fail(": more than %d columns", MAX_FIELDS);
        field[n++] = out;
        if (*in == '"') {
            for (in++; *in != '"' || in[1] == '"'; in++) {
                if (!*in)
                    fail(": a quoted value runs past the end of the line");
                *out++ = *in == '"' ? *in++ : *in;
            }
            in++;
            if (*in && *in != ',')
                fail(": expected a comma after a quoted value");
        } else {
            while (*in && *in != ',')
                *out++ = *in++;
        }
        *out++ = '\0';
        if (!*in++)
            return n;
    }
}

/* the next non-blank line into `line`, without its line break; 0 at the end of input */
static int next_line(void)
{
    while (fgets(line, sizeof line, stdin)) {
        line_no++;
        size_t n = strlen(line);
        if (n > MAX_LINE)
            fail(": longer than %d bytes", MAX_LINE);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (*trim(line))
            return 1;
    }
    if (ferror(stdin))
        fail(": cannot read (%s)", strerror(errno));
    return 0;
}

/* a number as the CLI reads one: ASCII decimal text, finite */
static double number(char *text, int j)
{
    char *s = trim(text), *p = s, *end;
    p += *p == '+' || *p == '-';
    int digits = 0;
    while (isdigit((unsigned char)*p))
        p++, digits++;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            digits++;
    if (digits && (*p == 'e' || *p == 'E')) {
        char *exponent = p + 1 + (p[1] == '+' || p[1] == '-');
        if (isdigit((unsigned char)*exponent))
            for (p = exponent; isdigit((unsigned char)*p); p++)
                ;
    }
    if (!*s)
        fail(", column '%s': expected a number, got an empty value", NAMES[j]);
    if (!digits || *p) {
        p = s + (*s == '+' || *s == '-');
        int inf_nan = !strcasecmp(p, "inf") || !strcasecmp(p, "infinity") || !strcasecmp(p, "nan");
        fail(", column '%s': expected a %snumber, got %s", NAMES[j], inf_nan ? "finite " : "",
             shown(s));
    }
    double x = strtod(s, &end);
    if (x > 1.7976931348623157e308 || x < -1.7976931348623157e308)
        fail(", column '%s': %s overflows to infinity", NAMES[j], shown(s));
    return x;
}

/* y / 2**OUT exactly, as housing/integer.py's decimal() writes it */
static void print_fixed(int64_t y)
{
    uint64_t a = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
    uint64_t frac = (a & ((1u << HOUSING_OUT_FRACTION_BITS) - 1)) * UINT64_C(152587890625);
    char digits[17];
    int n = 16;
    sprintf(digits, "%016" PRIu64, frac);
    while (n > 1 && digits[n - 1] == '0')
        digits[--n] = '\0';
    printf("%s%" PRIu64 ".%s\n", y < 0 ? "-" : "", a >> HOUSING_OUT_FRACTION_BITS, digits);
}

int main(void)
{
    int column[HOUSING_N_FEATURES], width;
    if (!next_line()) {
        line_no = 0;
        fail(": empty input; expected a header naming the columns (%s) and rows of numbers",
             features());
    }
    width = split();
    for (int j = 0; j < HOUSING_N_FEATURES; j++) {
        column[j] = -1;
        for (int i = 0; i < width; i++) {
            if (strcmp(trim(field[i]), NAMES[j]))
                continue;
            if (column[j] >= 0)
                fail(": column '%s' appears twice (columns %d and %d)", NAMES[j],
                     column[j] + 1, i + 1);
            column[j] = i;
        }
    }
    char missing[sizeof line] = "";
    int n_missing = 0;
    for (int j = 0; j < HOUSING_N_FEATURES; j++)
        if (column[j] < 0)
            strcat(strcat(missing, n_missing++ ? ", " : ""), NAMES[j]);
    if (n_missing)
        fail(": missing column%s %s; expected %s", n_missing > 1 ? "s" : "", missing, features());
    while (next_line()) {
        double x[HOUSING_N_FEATURES];
        int32_t fixed[HOUSING_N_FEATURES];
        int n = split();
        if (n != width)
            fail(": expected %d comma-separated values, got %d", width, n);
        for (int j = 0; j < HOUSING_N_FEATURES; j++)
            x[j] = number(field[column[j]], j);
        int j = housing_to_fixed(x, fixed);
        if (j >= 0)
            fail(", column '%s': expected a value the integer model's inputs hold, %g to "
                 "%g, got %g", NAMES[j], -2147483647.0 / HOUSING_INPUT_SCALES[j],
                 2147483647.0 / HOUSING_INPUT_SCALES[j], x[j]);
        print_fixed(housing_predict(fixed));
    }
    if (fflush(stdout) || ferror(stdout)) {
        line_no = 0, source = "<stdout>";
        fail(": cannot write the predictions (%s); the output is incomplete", strerror(errno));
    }
    return 0;
}
