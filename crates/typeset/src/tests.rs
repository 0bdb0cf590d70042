//! Tests of measuring, breaking and rasterising, from inline inputs. Every ideograph and
//! full-width mark of Noto Sans CJK advances exactly one em, which makes widths easy to state.

#![allow(clippy::unwrap_used)]

use super::*;

const EM: f32 = 32.0;

fn style() -> TextStyle {
    TextStyle {
        size: EM,
        line_height: 48.0,
        weight: Weight::Regular,
    }
}

fn texts(p: &Paragraph) -> Vec<&str> {
    p.lines.iter().map(|l| l.text.as_str()).collect()
}

#[test]
fn ideographs_advance_one_em() {
    let mut t = Typesetter::new().unwrap();
    assert_eq!(t.measure("有事好商量", &style()), 5.0 * EM);
    assert_eq!(t.measure("有事，好。", &style()), 5.0 * EM);
}

#[test]
fn breaks_between_ideographs_at_the_width() {
    let mut t = Typesetter::new().unwrap();
    let p = t.paragraph("一二三四五六七八九十", &style(), 4.0 * EM, None);
    assert_eq!(texts(&p), ["一二三四", "五六七八", "九十"]);
    assert!(!p.truncated);
    assert_eq!(p.width, 4.0 * EM);
    assert_eq!(p.height, 3.0 * 48.0);
}

#[test]
fn a_closing_comma_takes_the_previous_character_down() {
    let mut t = Typesetter::new().unwrap();
    // Without kinsoku the second line would start with "，".
    let p = t.paragraph("有事好商量，大家议", &style(), 5.0 * EM, None);
    assert_eq!(texts(&p), ["有事好商", "量，大家议"]);
}

#[test]
fn no_closing_mark_starts_a_line() {
    let mut t = Typesetter::new().unwrap();
    for mark in [
        "。", "、", "；", "：", "？", "！", "）", "」", "』", "》", "〉", "】", ",", ".", "?", "!",
        ")",
    ] {
        let text = format!("一二三四五{mark}六七");
        let p = t.paragraph(&text, &style(), 5.0 * EM, None);
        assert_eq!(p.lines[0].text, "一二三四", "with {mark}");
        assert!(
            p.lines[1].text.starts_with('五'),
            "with {mark}: {:?}",
            texts(&p)
        );
    }
}

#[test]
fn no_opening_bracket_ends_a_line() {
    let mut t = Typesetter::new().unwrap();
    for (open, close) in [
        ("【", "】"),
        ("「", "」"),
        ("《", "》"),
        ("（", "）"),
        ("(", ")"),
    ] {
        let text = format!("一二三四{open}五{close}");
        let p = t.paragraph(&text, &style(), 5.0 * EM, None);
        assert_eq!(p.lines[0].text, "一二三四", "with {open}");
        assert_eq!(p.lines[1].text, format!("{open}五{close}"));
    }
}

#[test]
fn latin_words_break_at_spaces_and_spaces_hang() {
    let mut t = Typesetter::new().unwrap();
    let s = style();
    let word = ["hello", "world", "again"]
        .map(|w| t.measure(w, &s))
        .into_iter()
        .fold(0.0, f32::max);
    // Two words with a space never fit in a line 1 px wider than the widest word.
    let p = t.paragraph("hello world again", &s, word + 1.0, None);
    assert_eq!(texts(&p), ["hello", "world", "again"]);
    assert!(p.lines.iter().all(|l| l.width <= word + 1.0));
}

#[test]
fn a_word_wider_than_the_line_is_cut_at_graphemes() {
    let mut t = Typesetter::new().unwrap();
    let p = t.paragraph("0123456789", &style(), 3.0 * EM, None);
    assert!(p.lines.len() > 1);
    assert_eq!(texts(&p).concat(), "0123456789");
    assert!(p.lines.iter().all(|l| l.width <= 3.0 * EM));
}

#[test]
fn a_narrow_width_still_makes_progress() {
    let mut t = Typesetter::new().unwrap();
    let p = t.paragraph("有事好商量", &style(), 1.0, None);
    assert_eq!(texts(&p), ["有", "事", "好", "商", "量"]);
}

#[test]
fn the_line_limit_ends_in_an_ellipsis() {
    let mut t = Typesetter::new().unwrap();
    let p = t.paragraph("一二三四五六七八九十", &style(), 5.0 * EM, Some(1));
    assert_eq!(texts(&p), ["一二三四…"]);
    assert!(p.truncated);
    assert!(p.lines[0].width <= 5.0 * EM);

    let p = t.paragraph("一二三四五六七八九十", &style(), 4.0 * EM, Some(2));
    assert_eq!(texts(&p), ["一二三四", "五六七…"]);

    // Text that fits is not marked.
    let p = t.paragraph("一二三", &style(), 4.0 * EM, Some(1));
    assert_eq!(texts(&p), ["一二三"]);
    assert!(!p.truncated);
}

#[test]
fn the_ellipsis_drops_a_dangling_opening_bracket() {
    let mut t = Typesetter::new().unwrap();
    let p = t.paragraph("一二三「四五六七八", &style(), 5.0 * EM, Some(1));
    assert_eq!(texts(&p), ["一二三…"]);
}

#[test]
fn newlines_break_and_blank_lines_count() {
    let mut t = Typesetter::new().unwrap();
    let p = t.paragraph("第一行\n\n第三行", &style(), 10.0 * EM, None);
    assert_eq!(texts(&p), ["第一行", "", "第三行"]);
    assert_eq!(p.height, 3.0 * 48.0);
    let p = t.paragraph("第一行\n第二行\n第三行", &style(), 10.0 * EM, Some(2));
    assert_eq!(texts(&p), ["第一行", "第二行…"]);
    assert!(p.truncated);
}

#[test]
fn baselines_centre_the_em_box_in_the_line() {
    let mut t = Typesetter::new().unwrap();
    let p = t.paragraph("一二三四五六", &style(), 3.0 * EM, None);
    // Noto CJK's em box spans 0.88 em above the baseline and 0.12 below; centred in a 48 px
    // line that puts the first baseline at 8 + 28.16.
    assert!(
        (p.lines[0].baseline - (8.0 + 0.88 * EM)).abs() < 0.01,
        "{}",
        p.lines[0].baseline
    );
    assert!((p.lines[1].baseline - p.lines[0].baseline - 48.0).abs() < 0.001);
}

#[test]
fn the_subset_has_the_place_names_and_the_symbols() {
    let t = Typesetter::new().unwrap();
    assert!(t.has_glyph('㳇'));
    assert!(t.missing_glyphs("宜兴市湖㳇镇，有事好商量。").is_empty());
    assert!(
        t.missing_glyphs("①②③④⑤⑥⑦⑧⑨●○▲▼◀▶←↑→↓✓×·…—「」《》（）ＡＢ１２")
            .is_empty()
    );
    // All of GB2312 levels 1 and 2 is 6,763 ideographs; with symbols, ASCII and the extras
    // the subset holds a little over 7,700 characters.
    assert!(t.coverage_count() > 7700, "{}", t.coverage_count());
}

#[test]
fn a_character_outside_the_subset_is_reported_once() {
    let mut t = Typesetter::new().unwrap();
    // U+20000 (CJK Extension B) and U+9FA6 (unified, not in GB2312) are not in the subset.
    assert_eq!(t.missing_glyphs("𠀀湖𠀀\u{9FA6}镇"), vec!['𠀀', '\u{9FA6}']);
    let p = t.paragraph("湖𠀀镇", &style(), 10.0 * EM, None);
    assert_eq!(p.missing, vec!['𠀀']);
    // Controls and invisible format characters are not glyphs anyone expects to see.
    assert!(t.missing_glyphs("a\tb\u{200B}c\u{FE0F}").is_empty());
}

#[test]
fn bold_and_regular_both_work() {
    let mut t = Typesetter::new().unwrap();
    let bold = TextStyle {
        weight: Weight::Bold,
        ..style()
    };
    assert_eq!(t.measure("有事好商量", &bold), 5.0 * EM);
    let mut ink_regular = 0u64;
    let mut ink_bold = 0u64;
    t.draw_line("商量", &style(), 0.0, 40.0, &mut |m| {
        ink_regular += m.coverage.iter().map(|&c| u64::from(c)).sum::<u64>();
    });
    t.draw_line("商量", &bold, 0.0, 40.0, &mut |m| {
        ink_bold += m.coverage.iter().map(|&c| u64::from(c)).sum::<u64>();
    });
    assert!(
        ink_bold > ink_regular * 5 / 4,
        "bold {ink_bold} regular {ink_regular}"
    );
}

#[test]
fn glyph_masks_sit_on_the_baseline_inside_the_em_box() {
    let mut t = Typesetter::new().unwrap();
    let mut masks = Vec::new();
    let missing = t.draw_line("有事好商量𠀀", &style(), 100.0, 200.0, &mut |m| {
        masks.push((m.left, m.top, m.width, m.height, m.coverage.len()));
    });
    assert_eq!(missing, vec!['𠀀']);
    // Five glyphs drawn, the missing one not at all (no box).
    assert_eq!(masks.len(), 5);
    for (left, top, width, height, len) in masks {
        assert_eq!(len, (width * height) as usize);
        assert!((100..100 + 5 * 32).contains(&left));
        // The em box spans baseline - 28.16 to baseline + 3.84.
        assert!(
            top >= 200 - 29 && top + height as i32 <= 200 + 5,
            "top {top} height {height}"
        );
    }
}

#[test]
fn every_line_fits_and_no_text_is_lost() {
    let mut t = Typesetter::new().unwrap();
    let text = "关于老旧小区加装电梯的议题（第2期），请各位居民于12月5日前，通过遥控器投票：同意、反对或弃权。Thanks for taking part!";
    for width in [100.0, 160.0, 250.0, 333.0, 600.0] {
        let p = t.paragraph(text, &style(), width, None);
        for line in &p.lines {
            assert!(line.width <= width, "{width}: {:?}", line);
            assert!(
                !line.text.starts_with(|c| NO_LINE_START.contains(&c)),
                "{width}: {:?}",
                texts(&p)
            );
            assert!(
                !line.text.ends_with(|c| NO_LINE_END.contains(&c)),
                "{width}: {:?}",
                texts(&p)
            );
        }
        let joined: String = texts(&p).concat();
        assert_eq!(joined.replace(' ', ""), text.replace(' ', ""));
    }
}

#[test]
fn odd_widths_and_sizes_neither_panic_nor_hang() {
    let mut t = Typesetter::new().unwrap();
    let p = t.paragraph("有事好商量", &style(), f32::NAN, None);
    assert_eq!(texts(&p), ["有事好商量"]);
    let p = t.paragraph("有事好商量", &style(), f32::INFINITY, Some(1));
    assert_eq!(texts(&p), ["有事好商量"]);
    let p = t.paragraph("有事", &style(), -5.0, None);
    assert_eq!(texts(&p), ["有", "事"]);
    let p = t.paragraph("有事好商量", &style(), 100.0, Some(0));
    assert!(p.lines.is_empty() && p.truncated);
    assert_eq!(t.paragraph("", &style(), 100.0, None).lines.len(), 1);
    let huge = TextStyle {
        size: 1.0e7,
        ..style()
    };
    let mut drawn = 0;
    t.draw_line("有", &huge, 0.0, 0.0, &mut |_| drawn += 1);
    assert_eq!(drawn, 0);
}

#[test]
fn a_closing_mark_after_an_unbreakable_run_still_does_not_start_a_line() {
    let mut t = Typesetter::new().unwrap();
    // No break opportunity inside the digits: the emergency break moves before the last
    // digit rather than putting "，" first.
    let digits = t.measure("0123456", &style());
    let p = t.paragraph("0123456，", &style(), digits + 1.0, None);
    assert!(
        p.lines.iter().all(|l| !l.text.starts_with('，')),
        "{:?}",
        texts(&p)
    );
    assert_eq!(texts(&p).concat(), "0123456，");
}

#[test]
fn the_typesetter_can_move_to_another_thread() {
    fn send<T: Send>(_: &T) {}
    send(&Typesetter::new().unwrap());
}

#[test]
fn a_chinese_dash_or_ellipsis_pair_is_never_split() {
    let mut t = Typesetter::new().unwrap();
    // "——" may start a line but stays whole.
    let p = t.paragraph("一二三四——五", &style(), 5.0 * EM, None);
    assert_eq!(texts(&p), ["一二三四", "——五"]);
    // "……" neither splits nor starts a line: the previous character comes down with it.
    let p = t.paragraph("一二三四……五", &style(), 5.0 * EM, None);
    assert_eq!(texts(&p), ["一二三", "四……五"]);
}
