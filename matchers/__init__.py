"""leakmon matchers: pure functions over text (no database, no network).

Public API (stable; stored strings in :mod:`matchers.model` are API too):

The hot path is native: :mod:`matchers.native` wraps ``matchers._kernel`` (C, matchers/kernel/),
which scans phones, e-mails, RRN/FRNs and cards, canonicalizes, hashes (OpenSSL) and looks them up;
:mod:`matchers.reference` is its pure-Python oracle, used by the tests only.

Keyed hashing (the only place a canonical plaintext becomes a digest), :mod:`matchers.keyed_hash`::

    KeyedHasher(key: bytes, key_id: str | None = None)          # key_id defaults to key_id_for(key)
        .digest(id_type, canonical: str | bytes, form="full") -> bytes            # 32 bytes
        .digest_many(id_type, canonicals: Sequence[bytes | str], form="full") -> list[bytes]
        .joined_digests(id_type, canonicals, form="full") -> bytes             # 32 bytes each, concatenated
        .key_id: str
    key_id_for(key: bytes) -> str                                # 16 hex chars, reveals nothing
    message_header(id_type, form="full") -> bytes                # b"leakmon/v1/<domain>/<form>\\x00"
    prefix64(digests: Sequence[bytes]) -> np.ndarray[uint64]     # first 8 bytes, big-endian

    digest == hmac.digest(key, message_header(id_type, form) + canonical_utf8, "sha256");
    frn shares rrn's digest domain (one number space; the G digit tells them apart).

Protected set, :mod:`matchers.protect` and :mod:`matchers.registry`::

    protected_forms(id_type, raw_value, registry=None, *, partial=True) -> list[tuple[form, canonical]]
    protected_digests(hasher, id_type, raw_value, registry=None, *, partial=True) -> list[tuple[form, digest]]
    IdentifierRegistry.default(custom: Iterable[CustomType] | Mapping[str, CustomType] = (),
                               email_aliases: Mapping[str, str] | None = None)   # None: hanmail.net=daum.net
        .types, .get(id_type), .is_weak(id_type), .is_unique_id(id_type), id_type in registry
    CustomType(name, pattern, canonical="strip" | "digits" | "lowercase", context=(), separators=None)
        # frozen dataclass; separators (digits only, default on): also 123,456,789 / 123 456 7890
    InvalidIdentifier(id_type, reason)      # ValueError; message never holds the value
    UnknownIdentifierType(id_type)          # KeyError

Index, :mod:`matchers.index`::

    ProtectedIndex(prefixes: uint64[], subjects: uint32[], *, group_min=4, presorted=False, domains=None)
        .holds(domain) -> bool      # False only when known absent: that type is not extracted at all
        .lookup(queries: uint64[]) -> dict[query_position, tuple[subject_id, ...]]
        .lookup_digest(digest) -> tuple[int, ...];  .nbytes;  len(index) = distinct (prefix, subject) pairs
    ProtectedIndex.from_digests(pairs: Iterable[tuple[bytes, int]])

Scanning, :mod:`matchers.engine`::

    Matcher(hasher, index, registry=None, confirm=None, options=MatcherOptions())
        confirm: Callable[[Sequence[bytes]], Mapping[bytes, Sequence[int]]]   # full digests -> subject ids
        .scan_text(text, *, columns=None, delimiter=None, record_scope="line" | "all") -> list[Hit]
        .scan_bytes(data_utf8, *, columns=None, delimiter=None, record_scope="line", line_offset=0)
        .lookup(digests) -> dict[position, subject ids]        # prefix look-up + confirm
    MatcherOptions(chunk_size=8 MiB, deobfuscate=True, partial=True, weak=True, header_types={})

The process pool and file reading for ``--jobs N`` live outside ``matchers/``, in
:mod:`crawlers.parallel` (``ParallelScanner``) and :mod:`crawlers.files.ranges`.

De-obfuscation slow path, :mod:`matchers.deobfuscate`::

    OBFUSCATIONS            # one Obfuscation per class: name, triggers, anchors, hint, normalizer, examples
    TRIGGER                 # the RE2 alternation (UTF-8 bytes) of every class's triggers
    TRIGGER_TABLE           # 256 ints: bit i set when the byte anchors OBFUSCATIONS[i] (native pre-filter)
    GROUPED_TRIGGER         # added only when a custom digit type accepts grouping separators
    trigger_segments(block, grouped=False) -> [(start, end)];  normalize(text).text

Headers, :mod:`matchers.headers`: ``header_type(header)``, ``map_headers(headers)``,
``detect_header(line, delimiter)``.

Hit (see :mod:`matchers.model`): ``line`` is 0-based within the scanned text; ``masked`` is a masked
rendering; ``digest`` the full keyed digest; ``extra`` may hold ``column``, ``compatible_subjects``
(partial hits) and ``corroborated_by``. No field ever holds a plaintext identifier.
"""
