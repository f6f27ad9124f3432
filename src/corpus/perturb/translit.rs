//! Transliteration to Latin script, the way people write their language on a
//! Latin keyboard, which filters built for the native script do not read:
//!
//! - Arabic → Arabizi: the digits that stand for letters without a Latin
//!   equivalent (ح 7, ع 3, ء 2) and common digraphs (خ kh, ش sh, ث th);
//! - Persian → Finglish and Urdu → Roman Urdu: the same letters with their own
//!   values (و v in Persian, o in Urdu; ق gh in Persian; ے e, ٹ t, ڑ r …);
//! - Hindi → Hinglish: Devanagari with the inherent vowel written `a` and
//!   dropped where Hindi speakers drop it (word-finally and between a vowel
//!   and a consonant that carries one: मुसलमान → musalman, करना → karna),
//!   long vowels written as short ones after a consonant (ा a, ी i);
//! - Russian → informal translit (ж zh, х kh, ц ts, ш sh, щ shch, ю yu, я ya;
//!   ь and ъ dropped);
//! - Chinese → Pinyin without tones, one syllable per character, with the most
//!   common reading of each character (from the `pinyin` crate's data; a
//!   character read differently in a compound may be misread), full-width
//!   punctuation as ASCII.
//!
//! Arabic-script vowels that the text does not write are not guessed. The
//! variant's language tag gets the `Latn` script subtag (`ar` → `ar-Latn`).
//! Texts written mainly in another script get no variant.
//!
//! Invariant: every letter and mark of the transliterated scripts that the
//! tables know is replaced (the variant holds none of them), so the transform
//! is idempotent: a second pass gives no variant.

use icu_properties::props::Script;
use pinyin::ToPinyin;

use super::text::{Segment, ZWJ, ZWNJ, is_mark, main_script, script, segments};

/// Which transliteration a text gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Arabizi,
    Finglish,
    RomanUrdu,
    Hinglish,
    Russian,
    Pinyin,
}

/// The transliteration of `text`, and the variant's language tag.
pub(super) fn transliterate(text: &str, lang: &str) -> Option<(String, String)> {
    let primary = lang.split('-').next().unwrap_or(lang).to_ascii_lowercase();
    let scheme = match main_script(text)? {
        Script::Arabic => match primary.as_str() {
            "fa" => Scheme::Finglish,
            "ur" => Scheme::RomanUrdu,
            _ => Scheme::Arabizi,
        },
        Script::Devanagari => Scheme::Hinglish,
        Script::Cyrillic => Scheme::Russian,
        Script::Han => Scheme::Pinyin,
        _ => return None,
    };
    // Every script the transform knows is written in Latin in one pass, whatever
    // the main one, so that the variant has nothing left to transliterate.
    let out = match scheme {
        Scheme::Pinyin => by_word(&pinyin_text(text), Scheme::Arabizi),
        _ => by_word(text, scheme),
    };
    (out != text).then(|| (out, format!("{primary}-Latn")))
}

fn by_word(text: &str, scheme: Scheme) -> String {
    let mut out = String::with_capacity(text.len());
    for part in segments(text) {
        match part {
            Segment::Word(word) => match script_of_word(word) {
                Some(Script::Arabic) if scheme != Scheme::Hinglish => arabic_word(word, scheme, &mut out),
                Some(Script::Devanagari) => out.push_str(&hinglish_word(word)),
                Some(Script::Cyrillic) => russian_word(word, &mut out),
                Some(Script::Han) => out.push_str(&pinyin_text(word)),
                _ => out.push_str(word),
            },
            Segment::Between(between) => between.chars().for_each(|c| push_punctuation(c, &mut out)),
        }
    }
    out
}

fn script_of_word(word: &str) -> Option<Script> {
    word.chars()
        .map(script)
        .find(|s| *s != Script::Inherited && *s != Script::Common)
}

/// Digits and punctuation of the transliterated scripts, in ASCII.
fn push_punctuation(c: char, out: &mut String) {
    match c {
        '\u{0660}'..='\u{0669}' => out.push(char::from(b'0' + (c as u32 - 0x0660) as u8)),
        '\u{06F0}'..='\u{06F9}' => out.push(char::from(b'0' + (c as u32 - 0x06F0) as u8)),
        '\u{0966}'..='\u{096F}' => out.push(char::from(b'0' + (c as u32 - 0x0966) as u8)),
        '،' => out.push(','),
        '؛' => out.push(';'),
        '؟' => out.push('?'),
        '٪' => out.push('%'),
        '۔' | '।' | '॥' => out.push('.'),
        '«' | '»' => out.push('"'),
        other => out.push(other),
    }
}

/// Where a letter stands in its word (a zero-width non-joiner ends a word part).
#[derive(Debug, Clone, Copy)]
struct Place {
    at_start: bool,
    at_end: bool,
    /// The next letter is a long vowel (ا آ ى), after which و and ي are consonants.
    before_long_a: bool,
}

/// An Arabic-script letter's value in a scheme.
fn arabic_letter(c: char, scheme: Scheme, place: Place) -> Option<&'static str> {
    let Place {
        at_start,
        at_end,
        before_long_a,
    } = place;
    let persian = scheme == Scheme::Finglish;
    let urdu = scheme == Scheme::RomanUrdu;
    let arabic = scheme == Scheme::Arabizi;
    Some(match c {
        'ا' | 'آ' | 'أ' | 'ٱ' => "a",
        'إ' => "i",
        'ء' | 'ؤ' => {
            if arabic {
                "2"
            } else {
                "'"
            }
        }
        'ئ' => {
            if arabic {
                "2"
            } else if urdu {
                "y"
            } else {
                "'"
            }
        }
        'ب' => "b",
        'پ' => "p",
        'ت' | 'ط' | 'ٹ' => "t",
        'ث' => {
            if arabic {
                "th"
            } else {
                "s"
            }
        }
        'ج' => "j",
        'چ' => "ch",
        'ح' => {
            if arabic {
                "7"
            } else {
                "h"
            }
        }
        'خ' => "kh",
        'د' | 'ڈ' => "d",
        'ذ' => {
            if arabic {
                "th"
            } else {
                "z"
            }
        }
        'ر' | 'ڑ' => "r",
        'ز' | 'ظ' => "z",
        'ژ' => "zh",
        'س' | 'ص' => "s",
        'ش' => "sh",
        'ض' => {
            if arabic {
                "d"
            } else {
                "z"
            }
        }
        'ع' => {
            if arabic {
                "3"
            } else if at_start {
                "a"
            } else {
                ""
            }
        }
        'غ' => "gh",
        'ف' => "f",
        'ق' => {
            if persian {
                "gh"
            } else {
                "q"
            }
        }
        'ك' | 'ک' => "k",
        'گ' => "g",
        'ل' => "l",
        'م' => "m",
        'ن' | 'ں' => "n",
        'ه' | 'ہ' | 'ة' => {
            if c == 'ة' {
                if arabic { "a" } else { "e" }
            } else if at_end && !at_start {
                if arabic {
                    "h"
                } else if urdu {
                    "a"
                } else {
                    "e"
                }
            } else {
                "h"
            }
        }
        'ھ' => "h",
        'و' => {
            if at_start || before_long_a {
                if persian { "v" } else { "w" }
            } else if urdu {
                "o"
            } else {
                "u"
            }
        }
        'ي' | 'ی' | 'ى' => {
            if c == 'ى' {
                "a"
            } else if at_start || before_long_a {
                "y"
            } else {
                "i"
            }
        }
        'ے' => "e",
        // harakat: the vowels when the text writes them, nothing for shadda and sukun
        '\u{064B}' => "an",
        '\u{064C}' => "un",
        '\u{064D}' => "in",
        '\u{064E}' | '\u{0670}' => "a",
        '\u{064F}' => "u",
        '\u{0650}' => "i",
        '\u{0651}' | '\u{0652}' | '\u{0640}' | '\u{0653}' | '\u{0654}' | '\u{0655}' | ZWNJ => "",
        _ => return None,
    })
}

fn arabic_word(word: &str, scheme: Scheme, out: &mut String) {
    let chars: Vec<char> = word.chars().collect();
    let is_letter = |c: char| c.is_alphabetic() && !is_mark(c);
    for (i, c) in chars.iter().enumerate() {
        let previous = chars[..i].iter().rev().find(|p| is_letter(**p) || **p == ZWNJ);
        let next = chars[i + 1..].iter().find(|n| is_letter(**n) || **n == ZWNJ);
        let place = Place {
            at_start: previous.is_none_or(|p| *p == ZWNJ),
            at_end: next.is_none_or(|n| *n == ZWNJ),
            before_long_a: next.is_some_and(|n| matches!(n, 'ا' | 'آ' | 'ى')),
        };
        match arabic_letter(*c, scheme, place) {
            Some(value) => out.push_str(value),
            None => out.push(*c),
        }
    }
}

/// What a Devanagari consonant carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vowel {
    /// The inherent `a`, until schwa deletion decides.
    Inherent,
    /// A vowel sign (matra).
    Sign(&'static str),
    /// A virama, or an inherent vowel that Hindi does not pronounce.
    None,
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    Consonant {
        letter: char,
        value: &'static str,
        vowel: Vowel,
    },
    /// An independent vowel letter.
    Vowel(&'static str),
    /// Anusvara, candrabindu, visarga and other signs after a vowel.
    Sign(&'static str),
    /// A character the tables do not know, kept as it is.
    Other(char),
}

impl Unit {
    fn sounds_a_vowel(&self) -> bool {
        match self {
            Unit::Consonant { vowel, .. } => *vowel != Vowel::None,
            Unit::Vowel(_) => true,
            Unit::Sign(_) | Unit::Other(_) => false,
        }
    }
}

fn devanagari_consonant(c: char) -> Option<&'static str> {
    Some(match c {
        'क' => "k",
        'ख' => "kh",
        'ग' => "g",
        'घ' => "gh",
        'ङ' => "n",
        'च' => "ch",
        'छ' => "chh",
        'ज' => "j",
        'झ' => "jh",
        'ञ' => "n",
        'ट' => "t",
        'ठ' => "th",
        'ड' => "d",
        'ढ' => "dh",
        'ण' => "n",
        'त' => "t",
        'थ' => "th",
        'द' => "d",
        'ध' => "dh",
        'न' => "n",
        'प' => "p",
        'फ' => "ph",
        'ब' => "b",
        'भ' => "bh",
        'म' => "m",
        'य' => "y",
        'र' => "r",
        'ल' => "l",
        'ळ' => "l",
        'व' => "v",
        'श' | 'ष' => "sh",
        'स' => "s",
        'ह' => "h",
        '\u{0958}' => "q",
        '\u{0959}' => "kh",
        '\u{095A}' => "gh",
        '\u{095B}' => "z",
        '\u{095C}' => "r",
        '\u{095D}' => "rh",
        '\u{095E}' => "f",
        '\u{095F}' => "y",
        _ => return None,
    })
}

/// A consonant's value with a nukta.
fn with_nukta(letter: char) -> Option<&'static str> {
    Some(match letter {
        'क' => "q",
        'ख' => "kh",
        'ग' => "gh",
        'ज' => "z",
        'ड' => "r",
        'ढ' => "rh",
        'फ' => "f",
        'य' => "y",
        _ => return None,
    })
}

fn devanagari_vowel_sign(c: char) -> Option<&'static str> {
    Some(match c {
        'ा' => "a",
        'ि' | 'ी' => "i",
        'ु' | 'ू' => "u",
        'ृ' | 'ॄ' => "ri",
        'ॅ' | 'ॆ' | 'े' => "e",
        'ै' => "ai",
        'ॉ' | 'ॊ' | 'ो' => "o",
        'ौ' => "au",
        _ => return None,
    })
}

/// An independent vowel letter's value; long vowels are doubled only at the
/// start of a word (आप aap, but कटुआ katua).
fn devanagari_independent_vowel(c: char, inside_word: bool) -> Option<&'static str> {
    Some(match c {
        'अ' => "a",
        'आ' if inside_word => "a",
        'आ' => "aa",
        'इ' | 'ई' if inside_word => "i",
        'इ' => "i",
        'ई' => "ee",
        'उ' | 'ऊ' if inside_word => "u",
        'उ' => "u",
        'ऊ' => "oo",
        'ऋ' => "ri",
        'ऍ' | 'ए' | 'ऎ' => "e",
        'ऐ' => "ai",
        'ऑ' | 'ओ' | 'ऒ' => "o",
        'औ' => "au",
        _ => return None,
    })
}

fn hinglish_word(word: &str) -> String {
    let mut units: Vec<Unit> = Vec::new();
    for c in word.chars() {
        if let Some(value) = devanagari_consonant(c) {
            units.push(Unit::Consonant {
                letter: c,
                value,
                vowel: Vowel::Inherent,
            });
            continue;
        }
        if let Some(Unit::Consonant { letter, value, vowel }) = units.last_mut() {
            if c == '\u{093C}' {
                if let Some(nukta) = with_nukta(*letter) {
                    *value = nukta;
                }
                continue;
            }
            if c == '\u{094D}' {
                *vowel = Vowel::None;
                continue;
            }
            if let Some(sign) = devanagari_vowel_sign(c) {
                *vowel = Vowel::Sign(sign);
                continue;
            }
        }
        let unit = match c {
            'ं' | 'ँ' => Unit::Sign("n"),
            'ः' => Unit::Sign("h"),
            'ऽ' | '\u{093C}' | '\u{094D}' | ZWNJ | ZWJ => continue,
            'ॐ' => Unit::Vowel("om"),
            other => {
                let inside = !units.is_empty();
                match devanagari_independent_vowel(other, inside).or_else(|| devanagari_vowel_sign(other)) {
                    Some(value) => Unit::Vowel(value),
                    None => Unit::Other(other),
                }
            }
        };
        units.push(unit);
    }
    delete_schwas(&mut units);
    let mut out = String::new();
    for unit in units {
        match unit {
            Unit::Consonant { value, vowel, .. } => {
                out.push_str(value);
                match vowel {
                    Vowel::Inherent => out.push('a'),
                    Vowel::Sign(v) => out.push_str(v),
                    Vowel::None => {}
                }
            }
            Unit::Vowel(v) | Unit::Sign(v) => out.push_str(v),
            Unit::Other(c) => out.push(c),
        }
    }
    out
}

/// Hindi schwa deletion, right to left: an inherent vowel is dropped at the end
/// of a word of more than one syllable, and between a vowel and a consonant
/// that carries one (V C _ C V), unless a nasal sign follows it.
fn delete_schwas(units: &mut [Unit]) {
    for i in (0..units.len()).rev() {
        let Unit::Consonant {
            vowel: Vowel::Inherent, ..
        } = units[i]
        else {
            continue;
        };
        let vowel_before = i > 0 && units[..i].iter().any(Unit::sounds_a_vowel);
        let directly_after_vowel = i > 0 && units[i - 1].sounds_a_vowel();
        let deleted = match units.get(i + 1) {
            None => vowel_before,
            Some(next @ Unit::Consonant { .. }) => directly_after_vowel && next.sounds_a_vowel(),
            Some(_) => false,
        };
        if deleted && let Unit::Consonant { vowel, .. } = &mut units[i] {
            *vowel = Vowel::None;
        }
    }
}

fn russian_letter(lower: char) -> Option<&'static str> {
    Some(match lower {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ґ' => "g",
        'д' => "d",
        'е' => "e",
        'ё' => "yo",
        'є' => "ye",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' => "i",
        'ї' => "yi",
        'й' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'э' => "e",
        'ю' => "yu",
        'я' => "ya",
        _ => return None,
    })
}

fn russian_word(word: &str, out: &mut String) {
    for c in word.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        match russian_letter(lower) {
            Some(value) if lower != c => {
                let mut letters = value.chars();
                if let Some(first) = letters.next() {
                    out.push(first.to_ascii_uppercase());
                    out.extend(letters);
                }
            }
            Some(value) => out.push_str(value),
            None => out.push(c),
        }
    }
}

/// Full-width and CJK punctuation in ASCII: the mark, and whether a space
/// follows it.
fn cjk_punctuation(c: char) -> Option<(&'static str, bool)> {
    Some(match c {
        '，' | '、' => (",", true),
        '。' | '．' => (".", true),
        '！' => ("!", true),
        '？' => ("?", true),
        '：' => (":", true),
        '；' => (";", true),
        '“' | '「' | '《' | '『' => ("\"", false),
        '”' | '」' | '》' | '』' => ("\"", true),
        '‘' => ("'", false),
        '’' => ("'", true),
        '（' => ("(", false),
        '）' => (")", true),
        '…' => ("...", true),
        '—' => ("-", true),
        '～' => ("~", true),
        _ => return None,
    })
}

fn pinyin_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut previous_han = false;
    for c in text.chars() {
        if let Some(syllable) = c.to_pinyin() {
            if out.chars().next_back().is_some_and(|p| p.is_alphanumeric()) {
                out.push(' ');
            }
            out.push_str(syllable.plain());
            previous_han = true;
            continue;
        }
        if let Some((mark, space_after)) = cjk_punctuation(c) {
            if (mark == "\"" && !space_after) || mark == "(" {
                if out.chars().next_back().is_some_and(|p| !p.is_whitespace()) {
                    out.push(' ');
                }
            } else {
                while out.ends_with(' ') {
                    out.pop();
                }
            }
            out.push_str(mark);
            if space_after {
                out.push(' ');
            }
        } else {
            if previous_han && c.is_alphanumeric() {
                out.push(' ');
            }
            if c == ' ' && out.ends_with(' ') {
                previous_han = false;
                continue;
            }
            out.push(c);
        }
        previous_han = false;
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latin(text: &str, lang: &str) -> String {
        transliterate(text, lang).map(|(t, _)| t).unwrap_or_default()
    }

    #[test]
    fn arabic_persian_and_urdu_have_their_own_values() {
        assert_eq!(
            transliterate("هؤلاء حشرات", "ar"),
            Some(("h2la2 7shrat".into(), "ar-Latn".into()))
        );
        assert_eq!(latin("عرب، خونة؟", "ar"), "3rb, khuna?");
        assert_eq!(latin("خانه", "fa"), "khane");
        assert_eq!(latin("وطن", "fa"), "vtn");
        assert_eq!(latin("بچہ ہے", "ur"), "bcha he");
        assert_eq!(latin("لوگ", "ur"), "log");
        assert_eq!(latin("الواحد يوم", "ar"), "alwa7d yum");
        assert_eq!(latin("خانه\u{200C}های", "fa"), "khanehai");
    }

    #[test]
    fn hindi_drops_the_schwas_hindi_drops() {
        assert_eq!(latin("मुसलमान", "hi"), "musalman");
        assert_eq!(latin("करना", "hi"), "karna");
        assert_eq!(latin("भारत", "hi"), "bharat");
        assert_eq!(latin("कुत्ते हैं।", "hi"), "kutte hain.");
        assert_eq!(latin("लोगों नहीं", "hi"), "logon nahin");
        assert_eq!(latin("नफ़रत", "hi"), "nafrat");
        assert_eq!(latin("न", "hi"), "na");
        assert_eq!(latin("आप कटुआ", "hi"), "aap katua");
        assert_eq!(transliterate("Hinglish hai", "hi-Latn"), None);
    }

    #[test]
    fn russian_and_chinese() {
        assert_eq!(latin("Жиды во всём виноваты", "ru"), "Zhidy vo vsyom vinovaty");
        assert_eq!(
            latin("地域黑一点都不好笑，拜托别再转了。", "zh-Hans"),
            "di yu hei yi dian dou bu hao xiao, bai tuo bie zai zhuan le."
        );
        assert_eq!(latin("叫“黑鬼”OK", "zh-Hans"), "jiao \"hei gui\" OK");
        assert_eq!(
            transliterate("黑鬼", "zh-Hans").map(|(_, lang)| lang).as_deref(),
            Some("zh-Latn")
        );
        assert_eq!(transliterate("Latin text", "en"), None);
    }
}
