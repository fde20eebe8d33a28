/* matchers._kernel: the Python face of the scan kernel (scan.c). See matchers/native.py. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <openssl/crypto.h>
#include <string.h>

#include "scan.h"

typedef struct {
    PyObject_HEAD lk_keys keys;
} KeyedObject;

static int Keyed_init(KeyedObject *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"key", "headers", NULL};
    Py_buffer key;
    PyObject *headers;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*O!", names, &key, &PyTuple_Type, &headers)) return -1;
    if (PyTuple_GET_SIZE(headers) != LK_KINDS) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_ValueError, "headers: one message header per kernel kind");
        return -1;
    }
    const uint8_t *hs[LK_KINDS];
    size_t lens[LK_KINDS];
    for (int k = 0; k < LK_KINDS; k++) {
        PyObject *h = PyTuple_GET_ITEM(headers, k);
        if (!PyBytes_Check(h)) {
            PyBuffer_Release(&key);
            PyErr_SetString(PyExc_TypeError, "headers must be bytes");
            return -1;
        }
        hs[k] = (const uint8_t *)PyBytes_AS_STRING(h);
        lens[k] = (size_t)PyBytes_GET_SIZE(h);
    }
    lk_keys_init(&self->keys, key.buf, (size_t)key.len, hs, lens);
    PyBuffer_Release(&key);
    return 0;
}

static void Keyed_dealloc(KeyedObject *self) {
    OPENSSL_cleanse(&self->keys, sizeof self->keys);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* digest_many(header, values) -> bytes: the 32-byte digests of the values, concatenated. */
static PyObject *Keyed_digest_many(KeyedObject *self, PyObject *args) {
    Py_buffer header;
    PyObject *values;
    if (!PyArg_ParseTuple(args, "y*O", &header, &values)) return NULL;
    PyObject *seq = PySequence_Fast(values, "values must be a sequence of bytes or str");
    if (!seq) {
        PyBuffer_Release(&header);
        return NULL;
    }
    SHA256_CTX inner;
    lk_inner_for(&self->keys, header.buf, (size_t)header.len, &inner);
    PyBuffer_Release(&header);
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 32);
    if (!out) {
        Py_DECREF(seq);
        return NULL;
    }
    uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *data;
        Py_ssize_t len;
        if (PyBytes_Check(items[i])) {
            data = PyBytes_AS_STRING(items[i]);
            len = PyBytes_GET_SIZE(items[i]);
        } else if (PyUnicode_Check(items[i])) {
            data = PyUnicode_AsUTF8AndSize(items[i], &len);
            if (!data) goto fail;
        } else {
            PyErr_SetString(PyExc_TypeError, "values must be bytes or str");
            goto fail;
        }
        lk_hmac(&inner, &self->keys.outer, (const uint8_t *)data, (size_t)len, dst + 32 * i);
    }
    OPENSSL_cleanse(&inner, sizeof inner);
    Py_DECREF(seq);
    return out;
fail:
    OPENSSL_cleanse(&inner, sizeof inner);
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------ bulk digests (protect import) */

/* digest_packed(header, buf, width=0) -> bytes: the 32-byte digests, concatenated, of the values
 * packed in ``buf``: fixed records of ``width`` bytes, or (width 0) NUL-separated values (an empty
 * buffer holds none). One call per chunk of an import: no Python object per value. */
static PyObject *Keyed_digest_packed(KeyedObject *self, PyObject *args) {
    Py_buffer header, buf;
    Py_ssize_t width = 0;
    if (!PyArg_ParseTuple(args, "y*y*|n", &header, &buf, &width)) return NULL;
    PyObject *out = NULL;
    const uint8_t *data = buf.buf;
    size_t len = (size_t)buf.len, n = 0;
    if (width < 0 || (width > 0 && len % (size_t)width != 0)) {
        PyErr_SetString(PyExc_ValueError, "buf must hold whole records of width bytes");
        goto done;
    }
    if (width > 0) {
        n = len / (size_t)width;
    } else if (len > 0) {
        n = 1;
        for (const uint8_t *p = data; (p = memchr(p, 0, (size_t)(data + len - p))) != NULL; p++) n++;
    }
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(32 * n));
    if (!out) goto done;
    uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
    SHA256_CTX inner;
    lk_inner_for(&self->keys, header.buf, (size_t)header.len, &inner);
    Py_BEGIN_ALLOW_THREADS
    if (width > 0) {
        for (size_t i = 0; i < n; i++) lk_hmac(&inner, &self->keys.outer, data + i * (size_t)width, (size_t)width, dst + 32 * i);
    } else {
        const uint8_t *p = data, *end = data + len;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *stop = memchr(p, 0, (size_t)(end - p));
            if (!stop) stop = end;
            lk_hmac(&inner, &self->keys.outer, p, (size_t)(stop - p), dst + 32 * i);
            p = stop + 1;
        }
    }
    Py_END_ALLOW_THREADS
    OPENSSL_cleanse(&inner, sizeof inner);
done:
    PyBuffer_Release(&header);
    PyBuffer_Release(&buf);
    return out;
}

/* A tier from its sorted keys (bytes: 8 or 6 each, LK_KEY_WIDTH of the radix table's bits) and its
 * radix table (uint32, 2^bits + 1 offsets, or empty: bits 0). */
static int tier(Py_buffer *keys, Py_buffer *buckets, lk_tier *out) {
    out->keys = keys->buf;
    out->buckets = NULL;
    out->bits = 0;
    out->width = LK_KEY_WIDTH(0);
    size_t slots = 0;
    int bits = 0;
    if (buckets->len != 0) {
        size_t entries = (size_t)buckets->len / 4;
        slots = entries - 1;
        while (bits < 40 && ((size_t)1 << bits) < slots) bits++;
        if (buckets->len % 4 != 0 || entries < 3 || ((size_t)1 << bits) != slots) {
            PyErr_SetString(PyExc_ValueError, "buckets must be a uint32 radix table of 2^bits + 1 offsets");
            return 0;
        }
    }
    int width = LK_KEY_WIDTH(bits);
    if (keys->len % width != 0) {
        PyErr_Format(PyExc_ValueError, "keys must be a contiguous array of %d-byte keys", width);
        return 0;
    }
    out->n = (size_t)keys->len / (size_t)width;
    out->width = width;
    if (slots == 0) return 1;
    const uint32_t *b = buckets->buf;
    if (b[0] != 0 || b[slots] != out->n) {
        PyErr_SetString(PyExc_ValueError, "buckets must be a uint32 radix table of 2^bits + 1 offsets");
        return 0;
    }
    for (size_t i = 0; i < slots; i++)
        if (b[i] > b[i + 1]) {
            PyErr_SetString(PyExc_ValueError, "buckets must be non-decreasing");
            return 0;
        }
    out->buckets = b;
    out->bits = bits;
    return 1;
}

#define MAX_ALIASES 64

/* scan(block, flat_keys, flat_buckets, group_keys, group_buckets, aliases=(), everything=False) -> bytes
 * of packed hits (matchers/native.py); aliases: ((alias, target), ...) lower-case e-mail domains. */
static PyObject *Keyed_scan(KeyedObject *self, PyObject *args) {
    Py_buffer block, flat, flat_buckets, group, group_buckets;
    PyObject *alias_pairs = NULL;
    int everything = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*|O!p", &block, &flat, &flat_buckets, &group, &group_buckets,
                          &PyTuple_Type, &alias_pairs, &everything))
        return NULL;
    PyObject *result = NULL;
    const uint8_t *alias[MAX_ALIASES], *target[MAX_ALIASES];
    size_t alias_len[MAX_ALIASES], target_len[MAX_ALIASES];
    lk_aliases aliases = {alias, alias_len, target, target_len, 0};
    Py_ssize_t na = alias_pairs ? PyTuple_GET_SIZE(alias_pairs) : 0;
    if (na > MAX_ALIASES) {
        PyErr_SetString(PyExc_ValueError, "at most 64 e-mail domain aliases");
        goto done;
    }
    for (Py_ssize_t i = 0; i < na; i++) {
        PyObject *pair = PyTuple_GET_ITEM(alias_pairs, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyBytes_Check(PyTuple_GET_ITEM(pair, 0)) ||
            !PyBytes_Check(PyTuple_GET_ITEM(pair, 1))) {
            PyErr_SetString(PyExc_TypeError, "aliases: a tuple of (alias, target) bytes pairs");
            goto done;
        }
        alias[i] = (const uint8_t *)PyBytes_AS_STRING(PyTuple_GET_ITEM(pair, 0));
        alias_len[i] = (size_t)PyBytes_GET_SIZE(PyTuple_GET_ITEM(pair, 0));
        target[i] = (const uint8_t *)PyBytes_AS_STRING(PyTuple_GET_ITEM(pair, 1));
        target_len[i] = (size_t)PyBytes_GET_SIZE(PyTuple_GET_ITEM(pair, 1));
    }
    aliases.n = (size_t)na;
    lk_index index = {.everything = everything};
    if (tier(&flat, &flat_buckets, &index.flat) && tier(&group, &group_buckets, &index.group)) {
        lk_out out = {0};
        Py_BEGIN_ALLOW_THREADS lk_scan(block.buf, (size_t)block.len, &self->keys, &index, &aliases, &out);
        Py_END_ALLOW_THREADS if (out.failed) PyErr_NoMemory();
        else result = PyBytes_FromStringAndSize((const char *)out.hits, (Py_ssize_t)(out.n * sizeof(lk_hit)));
        free(out.hits);
    }
done:
    PyBuffer_Release(&block);
    PyBuffer_Release(&flat);
    PyBuffer_Release(&flat_buckets);
    PyBuffer_Release(&group);
    PyBuffer_Release(&group_buckets);
    return result;
}

/* The index of a call from its four buffers (tier() raises on a malformed one). */
static int index_of(Py_buffer *flat, Py_buffer *flat_buckets, Py_buffer *group, Py_buffer *group_buckets, int everything,
                    lk_index *index) {
    memset(index, 0, sizeof *index);
    index->everything = everything;
    return tier(flat, flat_buckets, &index->flat) && tier(group, group_buckets, &index->group);
}

/* weak(block, lines, headers, flat_keys, flat_buckets, group_keys, group_buckets, what, everything=False)
 * -> (tokens, canon): packed weak tokens (lk_weak_token) of the records and their canonical bytes.
 * lines: increasing 0-based line numbers (int64 buffer), or None for the whole block as one record;
 * headers: the message header of each LW_* kind. */
static PyObject *Keyed_weak(KeyedObject *self, PyObject *args) {
    Py_buffer block, flat, flat_buckets, group, group_buckets, lines = {0};
    PyObject *lines_obj, *headers;
    int what = 0, everything = 0;
    if (!PyArg_ParseTuple(args, "y*OO!y*y*y*y*i|p", &block, &lines_obj, &PyTuple_Type, &headers, &flat, &flat_buckets,
                          &group, &group_buckets, &what, &everything))
        return NULL;
    PyObject *result = NULL;
    int have_lines = 0;
    lk_weak_keys keys;
    lk_index index;
    if (PyTuple_GET_SIZE(headers) != LW_KINDS) {
        PyErr_SetString(PyExc_ValueError, "headers: one message header per weak kind");
        goto done;
    }
    for (int k = 0; k < LW_KINDS; k++) {
        PyObject *h = PyTuple_GET_ITEM(headers, k);
        if (!PyBytes_Check(h)) {
            PyErr_SetString(PyExc_TypeError, "headers must be bytes");
            goto done;
        }
        lk_inner_for(&self->keys, (const uint8_t *)PyBytes_AS_STRING(h), (size_t)PyBytes_GET_SIZE(h), &keys.inner[k]);
    }
    keys.outer = self->keys.outer;
    if (lines_obj != Py_None) {
        if (PyObject_GetBuffer(lines_obj, &lines, PyBUF_C_CONTIGUOUS) < 0) goto done;
        have_lines = 1;
        if (lines.len % 8 != 0) {
            PyErr_SetString(PyExc_ValueError, "lines must be a contiguous int64 array");
            goto done;
        }
        const int64_t *l = lines.buf;
        for (Py_ssize_t i = 1; i < lines.len / 8; i++)
            if (l[i] <= l[i - 1]) {
                PyErr_SetString(PyExc_ValueError, "lines must be increasing");
                goto done;
            }
    }
    if (!index_of(&flat, &flat_buckets, &group, &group_buckets, everything, &index)) goto done;
    lk_weak_out out = {0};
    Py_BEGIN_ALLOW_THREADS lk_weak_scan(block.buf, (size_t)block.len, have_lines ? lines.buf : NULL,
                                        have_lines ? (size_t)lines.len / 8 : 0, what, &keys, &index, &out);
    Py_END_ALLOW_THREADS if (out.failed) PyErr_NoMemory();
    else result = Py_BuildValue("(y#y#)", out.tokens ? (const char *)out.tokens : "",
                                (Py_ssize_t)(out.n * sizeof(lk_weak_token)), out.canon ? (const char *)out.canon : "",
                                (Py_ssize_t)out.canon_n); /* y# makes None of NULL */
    free(out.tokens);
    free(out.canon);
done:
    OPENSSL_cleanse(&keys, sizeof keys);
    if (have_lines) PyBuffer_Release(&lines);
    PyBuffer_Release(&block);
    PyBuffer_Release(&flat);
    PyBuffer_Release(&flat_buckets);
    PyBuffer_Release(&group);
    PyBuffer_Release(&group_buckets);
    return result;
}

/* addresses(block, header, flat_keys, flat_buckets, group_keys, group_buckets, everything=False) -> bytes of
 * packed hits (HIT_FORMAT): the address matches in canonical form that are indexed, and every other one
 * flagged ADDR_PARSE (no digest). */
static PyObject *Keyed_addresses(KeyedObject *self, PyObject *args) {
    Py_buffer block, header, flat, flat_buckets, group, group_buckets;
    int everything = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*|p", &block, &header, &flat, &flat_buckets, &group, &group_buckets,
                          &everything))
        return NULL;
    PyObject *result = NULL;
    lk_index index;
    SHA256_CTX inner;
    lk_inner_for(&self->keys, header.buf, (size_t)header.len, &inner);
    if (index_of(&flat, &flat_buckets, &group, &group_buckets, everything, &index)) {
        lk_out out = {0};
        Py_BEGIN_ALLOW_THREADS lk_address_scan(block.buf, (size_t)block.len, &inner, &self->keys.outer, &index, &out);
        Py_END_ALLOW_THREADS if (out.failed) PyErr_NoMemory();
        else result = PyBytes_FromStringAndSize((const char *)out.hits, (Py_ssize_t)(out.n * sizeof(lk_hit)));
        free(out.hits);
    }
    OPENSSL_cleanse(&inner, sizeof inner);
    PyBuffer_Release(&block);
    PyBuffer_Release(&header);
    PyBuffer_Release(&flat);
    PyBuffer_Release(&flat_buckets);
    PyBuffer_Release(&group);
    PyBuffer_Release(&group_buckets);
    return result;
}

static PyMethodDef Keyed_methods[] = {
    {"digest_many", (PyCFunction)Keyed_digest_many, METH_VARARGS,
     "digest_many(header, values) -> bytes: HMAC-SHA256(key, header + value) of each value, concatenated."},
    {"digest_packed", (PyCFunction)Keyed_digest_packed, METH_VARARGS,
     "digest_packed(header, buf, width=0) -> bytes: HMAC-SHA256(key, header + value) of each value packed in buf "
     "(fixed records of width bytes, or NUL-separated with width 0), concatenated."},
    {"scan", (PyCFunction)Keyed_scan, METH_VARARGS,
     "scan(block, flat_keys, flat_buckets, group_keys, group_buckets, aliases=(), everything=False) -> bytes: "
     "packed hits of the "
     "strong types in a UTF-8 block (every candidate with everything=True; every spaced phone, flagged SPACED)."},
    {"weak", (PyCFunction)Keyed_weak, METH_VARARGS,
     "weak(block, lines, headers, flat_keys, flat_buckets, group_keys, group_buckets, what, everything=False) -> "
     "(tokens, canon): the indexed name and birth-date tokens of the records (lines, or None: the whole block)."},
    {"addresses", (PyCFunction)Keyed_addresses, METH_VARARGS,
     "addresses(block, header, flat_keys, flat_buckets, group_keys, group_buckets, everything=False) -> bytes: "
     "packed hits of the indexed canonical addresses and of every address left to the parser (ADDR_PARSE)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KeyedType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "matchers._kernel.Keyed",
    .tp_basicsize = sizeof(KeyedObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Keyed(key, headers): HMAC-SHA256 pad states for one key; headers = one per kernel kind.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Keyed_init,
    .tp_dealloc = (destructor)Keyed_dealloc,
    .tp_methods = Keyed_methods,
};

static struct PyModuleDef kernel_module = {
    PyModuleDef_HEAD_INIT, "_kernel", "leakmon's native scan kernel (C, OpenSSL libcrypto).", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) {
    if (PyType_Ready(&KeyedType) < 0) return NULL;
    PyObject *m = PyModule_Create(&kernel_module);
    if (!m) return NULL;
    Py_INCREF(&KeyedType);
    if (PyModule_AddObject(m, "Keyed", (PyObject *)&KeyedType) < 0) {
        Py_DECREF(&KeyedType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "HIT_SIZE", (long)sizeof(lk_hit));
    PyModule_AddIntConstant(m, "PHONE", LK_PHONE);
    PyModule_AddIntConstant(m, "EMAIL", LK_EMAIL);
    PyModule_AddIntConstant(m, "RRN", LK_RRN);
    PyModule_AddIntConstant(m, "CARD", LK_CARD);
    PyModule_AddIntConstant(m, "SPACED", LK_SPACED);
    PyModule_AddIntConstant(m, "WEAK_SIZE", (long)sizeof(lk_weak_token));
    PyModule_AddIntConstant(m, "READ_NAMES", LW_READ_NAMES);
    PyModule_AddIntConstant(m, "READ_MASKED", LW_READ_MASKED);
    PyModule_AddIntConstant(m, "READ_BIRTH", LW_READ_BIRTH);
    PyModule_AddIntConstant(m, "ADDR_SPACED", LK_ADDR_SPACED);
    PyModule_AddIntConstant(m, "ADDR_PARSE", LK_ADDR_PARSE);
    return m;
}
