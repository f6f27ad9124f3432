//! Words written as emoji: the animals of dehumanising speech, vermin and
//! disease, and the words of violence, each replaced by the emoji people use
//! for it (`Muslims are 🐀`, `🔪 the Sikhs`).
//!
//! The list is small and per language ([`EMOJI_WORDS`]): 🐀 rat, 🪳 cockroach,
//! 🐖 pig, 🐍 snake, 🐒 monkey or ape, 🐕 dog, 🦠 parasite, plague or disease,
//! 🗑️ garbage, 🔪 kill, 🔫 gun or shoot, 💣 bomb, 🔥 burn or fire. A word
//! matches whole and regardless of case; in Arabic also after the article
//! (ال); in Chinese, written without spaces, anywhere. The whole word is
//! replaced. Only words become emoji, never the reverse.
//!
//! Invariant: idempotent (the variant holds no listed word, so a second pass
//! gives no variant); everything but the listed words is kept.

use icu_normalizer::ComposingNormalizerBorrowed;

use super::text::{Segment, segments};

const RAT: &str = "🐀";
const COCKROACH: &str = "🪳";
const PIG: &str = "🐖";
const SNAKE: &str = "🐍";
const MONKEY: &str = "🐒";
const DOG: &str = "🐕";
const GERM: &str = "🦠";
const GARBAGE: &str = "🗑\u{FE0F}";
const KNIFE: &str = "🔪";
const GUN: &str = "🔫";
const BOMB: &str = "💣";
const FIRE: &str = "🔥";

/// Per primary language: words (lower case, NFC) and the emoji that replaces them.
pub(crate) const EMOJI_WORDS: &[(&str, &[(&str, &str)])] = &[
    (
        "en",
        &[
            ("rat", RAT),
            ("rats", RAT),
            ("vermin", RAT),
            ("cockroach", COCKROACH),
            ("cockroaches", COCKROACH),
            ("pig", PIG),
            ("pigs", PIG),
            ("snake", SNAKE),
            ("snakes", SNAKE),
            ("monkey", MONKEY),
            ("monkeys", MONKEY),
            ("ape", MONKEY),
            ("apes", MONKEY),
            ("dog", DOG),
            ("dogs", DOG),
            ("parasite", GERM),
            ("parasites", GERM),
            ("plague", GERM),
            ("disease", GERM),
            ("garbage", GARBAGE),
            ("trash", GARBAGE),
            ("kill", KNIFE),
            ("shoot", GUN),
            ("gun", GUN),
            ("guns", GUN),
            ("bomb", BOMB),
            ("burn", FIRE),
        ],
    ),
    (
        "es",
        &[
            ("rata", RAT),
            ("ratas", RAT),
            ("cucaracha", COCKROACH),
            ("cucarachas", COCKROACH),
            ("cerdo", PIG),
            ("cerdos", PIG),
            ("puerco", PIG),
            ("puercos", PIG),
            ("serpiente", SNAKE),
            ("serpientes", SNAKE),
            ("mono", MONKEY),
            ("monos", MONKEY),
            ("perro", DOG),
            ("perros", DOG),
            ("parásito", GERM),
            ("parásitos", GERM),
            ("plaga", GERM),
            ("enfermedad", GERM),
            ("basura", GARBAGE),
            ("matar", KNIFE),
            ("disparar", GUN),
            ("bomba", BOMB),
            ("quemar", FIRE),
        ],
    ),
    (
        "pt",
        &[
            ("rato", RAT),
            ("ratos", RAT),
            ("barata", COCKROACH),
            ("baratas", COCKROACH),
            ("porco", PIG),
            ("porcos", PIG),
            ("cobra", SNAKE),
            ("cobras", SNAKE),
            ("macaco", MONKEY),
            ("macacos", MONKEY),
            ("cachorro", DOG),
            ("cachorros", DOG),
            ("parasita", GERM),
            ("parasitas", GERM),
            ("praga", GERM),
            ("doença", GERM),
            ("lixo", GARBAGE),
            ("matar", KNIFE),
            ("atirar", GUN),
            ("bomba", BOMB),
            ("queimar", FIRE),
        ],
    ),
    (
        "fr",
        &[
            ("rat", RAT),
            ("rats", RAT),
            ("vermine", RAT),
            ("cafard", COCKROACH),
            ("cafards", COCKROACH),
            ("porc", PIG),
            ("porcs", PIG),
            ("serpent", SNAKE),
            ("serpents", SNAKE),
            ("singe", MONKEY),
            ("singes", MONKEY),
            ("chien", DOG),
            ("chiens", DOG),
            ("parasite", GERM),
            ("parasites", GERM),
            ("peste", GERM),
            ("maladie", GERM),
            ("ordure", GARBAGE),
            ("ordures", GARBAGE),
            ("tuer", KNIFE),
            ("fusil", GUN),
            ("bombe", BOMB),
            ("brûler", FIRE),
        ],
    ),
    (
        "id",
        &[
            ("tikus", RAT),
            ("kecoa", COCKROACH),
            ("babi", PIG),
            ("ular", SNAKE),
            ("monyet", MONKEY),
            ("kera", MONKEY),
            ("anjing", DOG),
            ("parasit", GERM),
            ("penyakit", GERM),
            ("wabah", GERM),
            ("hama", GERM),
            ("sampah", GARBAGE),
            ("bunuh", KNIFE),
            ("tembak", GUN),
            ("bom", BOMB),
            ("bakar", FIRE),
        ],
    ),
    (
        "sw",
        &[
            ("panya", RAT),
            ("mende", COCKROACH),
            ("nguruwe", PIG),
            ("nyoka", SNAKE),
            ("nyani", MONKEY),
            ("tumbili", MONKEY),
            ("mbwa", DOG),
            ("vimelea", GERM),
            ("ugonjwa", GERM),
            ("takataka", GARBAGE),
            ("kuua", KNIFE),
            ("bunduki", GUN),
            ("bomu", BOMB),
            ("kuchoma", FIRE),
        ],
    ),
    (
        "tr",
        &[
            ("fare", RAT),
            ("fareler", RAT),
            ("hamamböceği", COCKROACH),
            ("hamamböcekleri", COCKROACH),
            ("domuz", PIG),
            ("domuzlar", PIG),
            ("yılan", SNAKE),
            ("yılanlar", SNAKE),
            ("maymun", MONKEY),
            ("maymunlar", MONKEY),
            ("köpek", DOG),
            ("köpekler", DOG),
            ("parazit", GERM),
            ("parazitler", GERM),
            ("mikrop", GERM),
            ("veba", GERM),
            ("çöp", GARBAGE),
            ("öldürün", KNIFE),
            ("silah", GUN),
            ("bomba", BOMB),
            ("yakalım", FIRE),
        ],
    ),
    (
        "ru",
        &[
            ("крыса", RAT),
            ("крысы", RAT),
            ("таракан", COCKROACH),
            ("тараканы", COCKROACH),
            ("свинья", PIG),
            ("свиньи", PIG),
            ("змея", SNAKE),
            ("змеи", SNAKE),
            ("обезьяна", MONKEY),
            ("обезьяны", MONKEY),
            ("собака", DOG),
            ("собаки", DOG),
            ("паразит", GERM),
            ("паразиты", GERM),
            ("зараза", GERM),
            ("чума", GERM),
            ("мусор", GARBAGE),
            ("убить", KNIFE),
            ("стрелять", GUN),
            ("бомба", BOMB),
            ("сжечь", FIRE),
        ],
    ),
    (
        "ar",
        &[
            ("جرذ", RAT),
            ("جرذان", RAT),
            ("فئران", RAT),
            ("صراصير", COCKROACH),
            ("صرصور", COCKROACH),
            ("خنزير", PIG),
            ("خنازير", PIG),
            ("أفعى", SNAKE),
            ("أفاعي", SNAKE),
            ("ثعابين", SNAKE),
            ("قرد", MONKEY),
            ("قرود", MONKEY),
            ("كلب", DOG),
            ("كلاب", DOG),
            ("طفيليات", GERM),
            ("وباء", GERM),
            ("سرطان", GERM),
            ("قمامة", GARBAGE),
            ("زبالة", GARBAGE),
            ("اقتلوا", KNIFE),
            ("اقتل", KNIFE),
            ("رصاص", GUN),
            ("قنبلة", BOMB),
            ("احرقوا", FIRE),
        ],
    ),
    (
        "fa",
        &[
            ("موش", RAT),
            ("سوسک", COCKROACH),
            ("خوک", PIG),
            ("مار", SNAKE),
            ("میمون", MONKEY),
            ("سگ", DOG),
            ("انگل", GERM),
            ("طاعون", GERM),
            ("زباله", GARBAGE),
            ("بکشید", KNIFE),
            ("بکشیم", KNIFE),
            ("تفنگ", GUN),
            ("بمب", BOMB),
            ("بسوزانید", FIRE),
        ],
    ),
    (
        "ur",
        &[
            ("چوہے", RAT),
            ("چوہا", RAT),
            ("سور", PIG),
            ("سانپ", SNAKE),
            ("بندر", MONKEY),
            ("کتے", DOG),
            ("کتا", DOG),
            ("بیماری", GERM),
            ("کچرا", GARBAGE),
            ("مارو", KNIFE),
            ("بندوق", GUN),
            ("بم", BOMB),
            ("جلاؤ", FIRE),
        ],
    ),
    (
        "hi",
        &[
            ("चूहे", RAT),
            ("चूहा", RAT),
            ("तिलचट्टे", COCKROACH),
            ("सुअर", PIG),
            ("सूअर", PIG),
            ("साँप", SNAKE),
            ("सांप", SNAKE),
            ("बंदर", MONKEY),
            ("कुत्ते", DOG),
            ("कुत्ता", DOG),
            ("परजीवी", GERM),
            ("बीमारी", GERM),
            ("कचरा", GARBAGE),
            ("मारो", KNIFE),
            ("बंदूक", GUN),
            ("बम", BOMB),
            ("जलाओ", FIRE),
        ],
    ),
    (
        "zh",
        &[
            ("老鼠", RAT),
            ("蟑螂", COCKROACH),
            ("猪", PIG),
            ("毒蛇", SNAKE),
            ("猴子", MONKEY),
            ("狗", DOG),
            ("寄生虫", GERM),
            ("垃圾", GARBAGE),
            ("杀", KNIFE),
            ("枪毙", GUN),
            ("炸弹", BOMB),
            ("烧死", FIRE),
        ],
    ),
];

/// Languages written without spaces, whose listed words match anywhere.
const UNSPACED: [&str; 1] = ["zh"];

/// The listed words of `text` written as emoji; `None` when it has none (or
/// its language has no list).
pub(super) fn emoji(text: &str, lang: &str) -> Option<String> {
    let primary = lang.split('-').next().unwrap_or(lang).to_ascii_lowercase();
    let (_, words) = EMOJI_WORDS.iter().find(|(l, _)| *l == primary)?;
    let out = if UNSPACED.contains(&primary.as_str()) {
        words
            .iter()
            .fold(text.to_string(), |acc, (word, emoji)| acc.replace(word, emoji))
    } else {
        let nfc = ComposingNormalizerBorrowed::new_nfc();
        let mut out = String::with_capacity(text.len());
        for part in segments(text) {
            match part {
                Segment::Word(word) => {
                    let key = nfc.normalize(&word.to_lowercase()).into_owned();
                    let bare = if primary == "ar" {
                        key.strip_prefix("ال").unwrap_or(&key)
                    } else {
                        &key
                    };
                    match words.iter().find(|(w, _)| *w == key || *w == bare) {
                        Some((_, emoji)) => out.push_str(emoji),
                        None => out.push_str(word),
                    }
                }
                Segment::Between(between) => out.push_str(between),
            }
        }
        out
    };
    (out != text).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_words_become_emoji() {
        assert_eq!(
            emoji("Travellers are RATS.", "en").as_deref(),
            Some("Travellers are 🐀.")
        );
        assert_eq!(emoji("هؤلاء الكلاب", "ar").as_deref(), Some("هؤلاء 🐕"));
        assert_eq!(emoji("他们就是一群老鼠", "zh-Hans").as_deref(), Some("他们就是一群🐀"));
        assert_eq!(emoji("वे कुत्ते हैं", "hi").as_deref(), Some("वे 🐕 हैं"));
        assert_eq!(emoji("nothing listed here", "en"), None);
        assert_eq!(emoji("rats", "xx"), None);
    }

    #[test]
    fn every_listed_word_is_lower_case_nfc_and_whole() {
        let nfc = ComposingNormalizerBorrowed::new_nfc();
        for (lang, words) in EMOJI_WORDS {
            for (word, _) in *words {
                assert_eq!(word.to_lowercase(), *word, "{lang}: {word}");
                assert_eq!(nfc.normalize(word), *word, "{lang}: {word}");
                if !UNSPACED.contains(lang) {
                    let parts = segments(word);
                    assert_eq!(parts, [Segment::Word(word)], "{lang}: {word} is one word");
                }
            }
        }
    }
}
