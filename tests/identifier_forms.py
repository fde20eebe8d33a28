"""One table of identifier forms for every call site of the one redaction rule (stored fields and logs).

Each case is (text, fragments that must not survive). Phones in every written form the matcher
undoes, e-mails plain and spelled out, resident numbers and cards; and the numbers that must stay.
"""

from __future__ import annotations

IDENTIFIER_FORMS: list[tuple[str, tuple[str, ...]]] = [
    ("call 010-3141-5926 now", ("3141", "5926")),
    ("01031415926", ("31415926",)),
    ("010 3141 5926", ("3141", "5926")),
    ("010.3141.5926", ("3141", "5926")),
    ("(010) 3141-5926", ("3141", "5926")),
    ("+82 10-3141-5926", ("3141", "5926")),
    ("+82-10-3141-5926", ("3141", "5926")),
    ("0082-10-3141-5926", ("3141", "5926")),
    ("82 10 3141 5926", ("3141", "5926")),
    ("1031415926", ("31415926",)),  # Excel dropped the leading zero
    ("02-312-4567", ("312-4567",)),  # a Seoul landline
    ("공일공 삼일사일 오구이육 연락", ("삼일사일", "오구이육")),  # Hangul digit words
    ("공1공-3141-오구이육", ("3141", "오구이육")),  # Hangul words mixed with digits
    ("０１０－３１４１－５９２６", ("３１４１", "５９２６")),  # full-width digits
    ("⓪①⓪-③①④①-⑤⑨②⑥", ("③①④①", "⑤⑨②⑥")),  # circled digits
    ("010\u200b3141\u200b5926", ("3141", "5926")),  # zero-width spaces
    ("O1O-3141-5926", ("3141", "5926")),  # letters for digits
    ("mail seoyeon.kim@naver.com", ("seoyeon.kim", "seoyeon")),
    ("seoyeon.kim (at) naver (dot) com", ("seoyeon",)),
    ("seoyeon.kim 골뱅이 naver 닷 com", ("seoyeon",)),
    ("seoyeon.kim＠naver．com", ("seoyeon",)),  # full-width punctuation
    ("rrn 940309-2761951", ("940309", "2761951")),
    ("9403092761951", ("2761951",)),
    ("940309 2761951", ("2761951",)),
    ("９４０３０９－２７６１９５１", ("２７６１９５１",)),
    ("card 4111-1111-1111-1111", ("1111-1111",)),
    ("card 4111 1111 1111 1111", ("1111 1111",)),
    ("4111111111111111", ("41111111",)),
]

#: Text with numbers that are no identifier: stays as it is at every call site.
KEPT = [
    "GET http://127.0.0.1:54321/p1.html",
    "connected to 10.0.0.12:5432 in 3.5 s",
    "2026-11-23T18:00:00+00:00 run finished",
    "2026-11-23 18:00:00,123 scheduler woke",
    "run 42 took 3.5 s, 120 posts",
    "attachment larger than 8388608 bytes",
    "dump.csv:row 123456789",
    "https://forum.test/viewtopic.php?t=1234567",
]
IDENTIFIER_FORMS += [
    # De-obfuscation drops markup: a log line quoting a request in angle brackets is judged as written too.
    (
        "Gave up retrying <GET http://127.0.0.1:8080/m?tel=010-3141-5926&rrn=940309-2761951> (failed 2 times)",
        ("3141", "2761951"),
    ),
]
