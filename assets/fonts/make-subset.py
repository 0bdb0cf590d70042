#!/usr/bin/env python3
"""Makes shangyi's font: a subset of Noto Sans CJK SC Regular and Bold.

Why a subset: the full Noto Sans CJK SC face holds ~65,000 glyphs (~16 MB a weight); the
screens need simplified Chinese (GB2312 levels 1 and 2), ASCII, punctuation and a short list
of extra characters, which is ~7,700 glyphs. The Rust build embeds the output with
include_bytes! and never runs this script.

Needs: Debian's fonts-noto-cjk (apt-get install -y fonts-noto-cjk) and fonttools
(pip install fonttools). Run from anywhere:

    python3 assets/fonts/make-subset.py

Writes, next to this script:
    NotoSansSC-shangyi-Regular.otf, NotoSansSC-shangyi-Bold.otf, OFL.txt, charset.txt
Output is deterministic for a given source font and fonttools version.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = "/usr/share/fonts/opentype/noto"
DEBIAN_COPYRIGHT = "/usr/share/doc/fonts-noto-cjk/copyright"
# Face 2 of Debian's NotoSansCJK-*.ttc is "Noto Sans CJK SC": its cmap maps to the
# simplified-Chinese glyph forms, so the subset needs no 'locl' feature.
SC_FACE_INDEX = 2
WEIGHTS = ["Regular", "Bold"]

# Blocks taken whole (printable code points only), besides GB2312 and extra-chars.txt.
RANGES = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement: · × ÷ ° ¥ and accented Latin
    (0x2010, 0x2027),  # General punctuation: ‐ – — ‘ ’ “ ” … ‧
    (0x2030, 0x203B),  # ‰ ′ ″ ※
    (0x3000, 0x303F),  # CJK symbols and punctuation: 、。〈〉《》「」『』【】〔〕
    (0xFF01, 0xFF60),  # Full-width ASCII forms: （），：；？！
    (0xFFE0, 0xFFE6),  # Full-width signs: ￠ ￡ ￥
]

# Only kerning (for Latin and digits) is kept: the screens set horizontal simplified Chinese
# with the default glyphs, so vertical forms (vert, vrt2, vkrn, vhal, vpal), alternates (aalt,
# fwid, hwid, pwid, ruby, dlig, hist), Hangul jamo (ljmo, vjmo, tjmo), the Japanese/Korean/
# traditional variants (locl) and proportional or half-width punctuation (palt, halt) go.
LAYOUT_FEATURES = "kern"


def gb2312_chars():
    """Every character of GB2312: symbol rows 1-9, level 1 (rows 16-55), level 2 (56-87)."""
    chars = []
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def extra_chars():
    path = os.path.join(HERE, "extra-chars.txt")
    chars = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            chars.extend(c for c in line if not c.isspace())
    return chars


def source_path(weight):
    return os.path.join(SOURCE_DIR, f"NotoSansCJK-{weight}.ttc")


def write_license():
    """OFL.txt: the font's own copyright notice, then the OFL text from the Debian package."""
    from fontTools.ttLib import TTCollection

    face = TTCollection(source_path("Regular")).fonts[SC_FACE_INDEX]
    # The font's name table says "(c) 2014-2021 Adobe"; upstream's LICENSE file states the
    # reserved name too, which the subset respects (its family stays "Noto Sans CJK SC").
    notice = face["name"].getDebugName(0).replace("\u00a9", "Copyright").rstrip(".")
    notice += ", with Reserved Font Name 'Source'."
    with open(DEBIAN_COPYRIGHT, encoding="utf-8") as f:
        lines = f.read().splitlines()
    # The last "License: SIL-1.1" line opens the stand-alone license paragraph (the earlier
    # ones are fields of file stanzas).
    start = len(lines) - 1 - lines[::-1].index("License: SIL-1.1")
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        line = line[1:]
        body.append("" if line == "." else line)
    with open(os.path.join(HERE, "OFL.txt"), "w", encoding="utf-8") as f:
        f.write(f"{notice}\n")
        f.write("Subset for shangyi from Debian's fonts-noto-cjk by assets/fonts/make-subset.py.\n\n")
        f.write("This Font Software is licensed under the SIL Open Font License, Version 1.1.\n\n")
        f.write("\n".join(body).rstrip() + "\n")


def main():
    from fontTools.ttLib import TTCollection

    for weight in WEIGHTS:
        if not os.path.exists(source_path(weight)):
            sys.exit(f"missing {source_path(weight)}: apt-get install -y fonts-noto-cjk")

    wanted = []
    for lo, hi in RANGES:
        wanted.extend(chr(c) for c in range(lo, hi + 1))
    wanted.extend(gb2312_chars())
    extras = extra_chars()
    wanted.extend(extras)
    wanted = sorted(set(c for c in wanted if c.isprintable() or c == "\u3000"))

    # A character listed on purpose that the source font lacks is a mistake in the list: say so
    # instead of shipping a font that silently lacks it.
    cmap = TTCollection(source_path("Regular")).fonts[SC_FACE_INDEX].getBestCmap()
    absent_extras = [c for c in dict.fromkeys(extras) if ord(c) not in cmap]
    if absent_extras:
        sys.exit(f"extra-chars.txt lists characters Noto Sans CJK SC lacks: {absent_extras}")
    # Range members the source lacks (unassigned code points, a few Latin-1 controls) are
    # simply not in the subset; charset.txt lists what is.
    present = [c for c in wanted if ord(c) in cmap]

    unicodes = ",".join(f"U+{ord(c):04X}" for c in present)
    for weight in WEIGHTS:
        out = os.path.join(HERE, f"NotoSansSC-shangyi-{weight}.otf")
        subprocess.run(
            [
                sys.executable, "-m", "fontTools.subset", source_path(weight),
                f"--font-number={SC_FACE_INDEX}",
                f"--unicodes={unicodes}",
                f"--layout-features={LAYOUT_FEATURES}",
                "--no-hinting",
                # Vertical metrics and the baseline table serve vertical setting only.
                "--drop-tables+=vhea,vmtx,VORG,BASE",
                "--name-IDs=0,1,2,3,4,5,6,13,14",
                "--name-languages=0x0409",
                "--no-glyph-names",
                "--notdef-outline",
                f"--output-file={out}",
            ],
            check=True,
        )
        print(f"{out}: {os.path.getsize(out)} bytes")

    with open(os.path.join(HERE, "charset.txt"), "w", encoding="utf-8") as f:
        f.write("# Characters in NotoSansSC-shangyi-*.otf, generated by make-subset.py. Do not edit.\n")
        for i in range(0, len(present), 64):
            f.write("".join(present[i : i + 64]) + "\n")
    print(f"{len(present)} characters ({len(wanted) - len(present)} requested but absent from the source)")
    write_license()


if __name__ == "__main__":
    main()
