/* The C twin of protocol/record_walk.py's _PythonWalk: the same state
 * machine over the same state slots, so that a walk gives the same
 * verdict whichever runs it.  record_walk.py says what is checked and
 * why; this file only makes it fast (a few nanoseconds a record: keys and
 * values are skipped by count, only varints are read byte by byte).
 *
 * feed(state, data): `state` is a writable buffer of 16 unsigned 64-bit
 * slots (record_walk.py names them), `data` the next piece of the
 * records.  Large pieces are walked without the GIL: the walk touches
 * nothing but the two buffers, which the caller keeps alive.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

enum { LENGTH, ATTRIBUTES, TIMESTAMP, OFFSET, KEY_LENGTH, KEY, VALUE_LENGTH, VALUE,
       HEADER_COUNT, HEADER_KEY_LENGTH, HEADER_KEY, HEADER_VALUE_LENGTH, HEADER_VALUE,
       DONE, FAILED };
enum { COUNT, INDEX, PHASE, ACC, SHIFT, RLENGTH, BODY_LEFT, SKIP, HEADERS, MIN_DELTA,
       MAX_DELTA, CONSUMED, RECORD_START, MAX_RECORD, ERROR, VALUE_SLOT, SLOTS };

/* Below this many bytes, releasing the GIL costs more than the walk. */
#define NOGIL_FROM (64 * 1024)

static void fail(uint64_t *s, uint64_t code, int64_t value) {
    s[ERROR] = code;
    s[VALUE_SLOT] = (uint64_t)value;
    s[PHASE] = FAILED;
}

static void end_record(uint64_t *s) {
    if ((int64_t)s[BODY_LEFT] != 0) {
        fail(s, 11, (int64_t)s[BODY_LEFT]);
        return;
    }
    s[INDEX] += 1;
    s[PHASE] = s[INDEX] == s[COUNT] ? DONE : LENGTH;
}

static void skipped(uint64_t *s, uint64_t skip_phase) {
    switch (skip_phase) {
    case KEY: s[PHASE] = VALUE_LENGTH; break;
    case VALUE: s[PHASE] = HEADER_COUNT; break;
    case HEADER_KEY: s[PHASE] = HEADER_VALUE_LENGTH; break;
    default:
        s[HEADERS] -= 1;
        if (s[HEADERS]) s[PHASE] = HEADER_KEY_LENGTH;
        else end_record(s);
    }
}

/* A length that -1 may null; what follows it is skipped. */
static void sized(uint64_t *s, int64_t length, uint64_t error, uint64_t skip_phase) {
    if (length < -1) { fail(s, error, length); return; }
    if (length > (int64_t)s[BODY_LEFT]) { fail(s, 4, 0); return; }
    if (length <= 0) { skipped(s, skip_phase); return; }
    s[BODY_LEFT] = (uint64_t)((int64_t)s[BODY_LEFT] - length);
    s[SKIP] = (uint64_t)length;
    s[PHASE] = skip_phase;
}

static void token(uint64_t *s, uint64_t phase, int64_t value) {
    switch (phase) {
    case LENGTH:
        if (value < 0) { fail(s, 2, value); return; }
        if (s[MAX_RECORD] && (uint64_t)value > s[MAX_RECORD]) { fail(s, 3, value); return; }
        s[RLENGTH] = s[BODY_LEFT] = (uint64_t)value;
        s[PHASE] = ATTRIBUTES;
        break;
    case TIMESTAMP:
        if (s[INDEX] == 0 || value < (int64_t)s[MIN_DELTA]) s[MIN_DELTA] = (uint64_t)value;
        if (s[INDEX] == 0 || value > (int64_t)s[MAX_DELTA]) s[MAX_DELTA] = (uint64_t)value;
        s[PHASE] = OFFSET;
        break;
    case OFFSET:
        if ((uint64_t)value != s[INDEX]) { fail(s, 5, value); return; }
        s[PHASE] = KEY_LENGTH;
        break;
    case KEY_LENGTH: sized(s, value, 6, KEY); break;
    case VALUE_LENGTH: sized(s, value, 7, VALUE); break;
    case HEADER_COUNT:
        if (value < 0 || value > (int64_t)s[BODY_LEFT]) { fail(s, 8, value); return; }
        s[HEADERS] = (uint64_t)value;
        if (value) s[PHASE] = HEADER_KEY_LENGTH;
        else end_record(s);
        break;
    case HEADER_KEY_LENGTH:
        if (value < 0) { fail(s, 9, value); return; }
        sized(s, value, 9, HEADER_KEY);
        break;
    case HEADER_VALUE_LENGTH: sized(s, value, 10, HEADER_VALUE); break;
    }
}

/* One varint of at most `longest` bytes before `end`, zig-zag decoded as
 * the state machine decodes it; 0 if it does not end before `end`. */
static inline int varint(const unsigned char **at, const unsigned char *end, int longest,
                         int64_t *value) {
    const unsigned char *p = *at;
    /* Nearly every varint of a record takes one or two bytes. */
    if (end - p >= 1 && p[0] < 0x80) {
        *value = (int64_t)(p[0] >> 1) ^ -(int64_t)(p[0] & 1);
        *at = p + 1;
        return 1;
    }
    if (end - p >= 2 && p[1] < 0x80) {
        uint64_t raw = (uint64_t)(p[0] & 0x7F) | (uint64_t)p[1] << 7;
        *value = (int64_t)(raw >> 1) ^ -(int64_t)(raw & 1);
        *at = p + 2;
        return 1;
    }
    uint64_t acc = 0;
    for (int shift = 0; shift < 7 * longest; shift += 7) {
        if (p == end) return 0;
        unsigned char byte = *p++;
        if (shift < 64) acc |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            uint64_t raw = longest == 10 ? acc : (acc & 0xFFFFFFFFu);
            *value = (int64_t)(raw >> 1) ^ -(int64_t)(raw & 1);
            *at = p;
            return 1;
        }
    }
    return 0;
}

/* A length that -1 may null, and the bytes it covers, within `end`. */
static inline int skip_sized(const unsigned char **at, const unsigned char *end, int64_t least) {
    int64_t length;
    if (!varint(at, end, 5, &length) || length < least || length > end - *at) return 0;
    if (length > 0) *at += length;
    return 1;
}

/* The fast path: whole records from `p` on, as long as each lies within
 * `end` and passes every check, with the state in locals; it stops at the
 * first record that does not (nothing of it consumed), which the state
 * machine then walks byte by byte and names what is wrong, so both paths
 * give the same verdicts.  Returns where it stopped. */
static const unsigned char *whole_records(uint64_t *s, const unsigned char *p,
                                          const unsigned char *end) {
    uint64_t index = s[INDEX], count = s[COUNT], max_record = s[MAX_RECORD], last = s[RLENGTH];
    int64_t low = (int64_t)s[MIN_DELTA], high = (int64_t)s[MAX_DELTA];
    while (index < count) {
        const unsigned char *q = p;
        int64_t length, delta, offset, headers;
        if (!varint(&q, end, 5, &length) || length <= 0 || length > end - q) break;
        if (max_record && (uint64_t)length > max_record) break;
        const unsigned char *body_end = q + length;
        q++; /* attributes */
        if (!varint(&q, body_end, 10, &delta)) break;
        if (!varint(&q, body_end, 5, &offset) || (uint64_t)offset != index) break;
        if (!skip_sized(&q, body_end, -1) || !skip_sized(&q, body_end, -1)) break;
        if (!varint(&q, body_end, 5, &headers) || headers < 0 || headers > body_end - q) break;
        int64_t h = 0;
        for (; h < headers; h++) {
            if (!skip_sized(&q, body_end, 0) || !skip_sized(&q, body_end, -1)) break;
        }
        if (h < headers || q != body_end) break;
        if (index == 0 || delta < low) low = delta;
        if (index == 0 || delta > high) high = delta;
        last = (uint64_t)length;
        index++;
        p = q;
    }
    s[INDEX] = index;
    s[RLENGTH] = last;
    s[MIN_DELTA] = (uint64_t)low;
    s[MAX_DELTA] = (uint64_t)high;
    s[PHASE] = index == count ? DONE : LENGTH;
    return p;
}

static void walk(uint64_t *s, const unsigned char *data, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        uint64_t phase = s[PHASE];
        if (phase == LENGTH && s[SHIFT] == 0) {
            Py_ssize_t stopped = whole_records(s, data + i, data + n) - data;
            if (stopped != i) {
                i = stopped;
                continue;
            }
        }
        if (phase == FAILED) break;
        if (phase == KEY || phase == VALUE || phase == HEADER_KEY || phase == HEADER_VALUE) {
            uint64_t take = s[SKIP] < (uint64_t)(n - i) ? s[SKIP] : (uint64_t)(n - i);
            i += (Py_ssize_t)take;
            s[SKIP] -= take;
            if (s[SKIP] == 0) skipped(s, phase);
            continue;
        }
        if (phase == DONE) { fail(s, 12, 0); break; }
        if (phase == LENGTH && s[SHIFT] == 0) s[RECORD_START] = s[CONSUMED] + (uint64_t)i;
        unsigned char byte = data[i++];
        if (phase != LENGTH) {
            int64_t left = (int64_t)s[BODY_LEFT] - 1;
            s[BODY_LEFT] = (uint64_t)left;
            if (left < 0) { fail(s, 4, 0); break; }
        }
        if (phase == ATTRIBUTES) { s[PHASE] = TIMESTAMP; continue; }
        /* Varints as Java's ByteUtils reads them: at most 5 bytes (10 for
         * the timestamp's varlong), bits beyond the type's width dropped. */
        uint64_t longest = phase == TIMESTAMP ? 10 : 5;
        if (s[SHIFT] < 64) s[ACC] |= (uint64_t)(byte & 0x7F) << s[SHIFT];
        s[SHIFT] += 7;
        if (byte & 0x80) {
            if (s[SHIFT] >= 7 * longest) { fail(s, 1, 0); break; }
            continue;
        }
        uint64_t raw = phase == TIMESTAMP ? s[ACC] : (s[ACC] & 0xFFFFFFFFu);
        s[ACC] = s[SHIFT] = 0;
        int64_t value = (int64_t)(raw >> 1) ^ -(int64_t)(raw & 1);
        token(s, phase, value);
    }
    s[CONSUMED] += (uint64_t)i;
}

static PyObject *feed(PyObject *module, PyObject *args) {
    Py_buffer state, data;
    if (!PyArg_ParseTuple(args, "w*y*:feed", &state, &data)) return NULL;
    if (state.len != SLOTS * (Py_ssize_t)sizeof(uint64_t)) {
        PyBuffer_Release(&state);
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "the state must be 16 unsigned 64-bit slots");
        return NULL;
    }
    uint64_t *s = (uint64_t *)state.buf;
    if (data.len >= NOGIL_FROM) {
        Py_BEGIN_ALLOW_THREADS
        walk(s, (const unsigned char *)data.buf, data.len);
        Py_END_ALLOW_THREADS
    } else {
        walk(s, (const unsigned char *)data.buf, data.len);
    }
    PyBuffer_Release(&state);
    PyBuffer_Release(&data);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"feed", feed, METH_VARARGS, "feed(state, data): walk the next piece of a batch's records."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "protocol._recordwalk",
    "The C walk of protocol.record_walk.", -1, methods,
};

PyMODINIT_FUNC PyInit__recordwalk(void) { return PyModule_Create(&module); }
