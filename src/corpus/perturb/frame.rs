//! A violating post quoted to condemn it: the directional check. The variant
//! is counter-speech (protected): someone reports the post and names it as
//! hate, quoting it whole in the quotation marks of the language. A system
//! should not treat it more harshly than the post itself.
//!
//! One frame per language ([`FRAMES`]), written for this check (machine-drafted
//! like the bundled corpora, awaiting native-speaker review); `{post}` is
//! replaced by the original text. Romanised Hindi and Urdu (`hi-Latn`,
//! `ur-Latn`) have frames of their own.
//!
//! Invariant: the original text appears in the variant exactly once, whole
//! and unchanged.

/// Per language tag (primary, or primary and script): the frame sentence.
pub(crate) const FRAMES: &[(&str, &str)] = &[
    (
        "en",
        "Someone posted this: \"{post}\" — this is hate, and I reported it.",
    ),
    (
        "es",
        "Alguien publicó esto: «{post}». Esto es odio, y lo he denunciado.",
    ),
    ("pt", "Alguém publicou isto: \"{post}\". Isso é ódio, e eu denunciei."),
    (
        "fr",
        "Quelqu'un a publié ceci : « {post} ». C'est de la haine, et je l'ai signalé.",
    ),
    (
        "id",
        "Seseorang mengunggah ini: \"{post}\". Ini ujaran kebencian, dan sudah saya laporkan.",
    ),
    (
        "sw",
        "Mtu mmoja ameandika hivi: \"{post}\". Hii ni chuki, na nimeiripoti.",
    ),
    (
        "tr",
        "Biri şunu paylaşmış: \"{post}\". Bu nefret söylemi, şikâyet ettim.",
    ),
    (
        "ru",
        "Кто-то написал такое: «{post}». Это разжигание ненависти, жалоба уже отправлена.",
    ),
    ("ar", "نشر أحدهم هذا: «{post}». هذا خطاب كراهية، وقد أبلغت عنه."),
    (
        "fa",
        "کسی این را نوشته بود: «{post}». این نفرت‌پراکنی است و گزارشش دادم.",
    ),
    (
        "ur",
        "کسی نے یہ لکھا: \"{post}\"۔ یہ نفرت انگیزی ہے اور میں نے اس کی شکایت کر دی۔",
    ),
    (
        "ur-Latn",
        "Kisi ne yeh likha: \"{post}\". Yeh nafrat angezi hai aur main ne is ki shikayat kar di.",
    ),
    ("hi", "किसी ने यह लिखा: \"{post}\"। यह नफ़रत है, और मैंने इसकी शिकायत कर दी।"),
    (
        "hi-Latn",
        "Kisi ne yeh likha: \"{post}\". Yeh nafrat hai, aur maine iski shikayat kar di.",
    ),
    ("zh", "有人发了这样的话：“{post}”这是仇恨言论，我已经举报了。"),
];

/// The frame for a language tag: its primary language and script (`hi-Latn`)
/// if it has one, else its primary language.
fn frame_for(lang: &str) -> Option<&'static str> {
    let mut parts = lang.split('-');
    let primary = parts.next().unwrap_or(lang).to_ascii_lowercase();
    let script = parts.find(|p| p.len() == 4 && p.chars().all(|c| c.is_ascii_alphabetic()));
    let with_script = script.map(|s| {
        format!(
            "{primary}-{}",
            s[..1].to_ascii_uppercase() + &s[1..].to_ascii_lowercase()
        )
    });
    with_script
        .and_then(|tag| FRAMES.iter().find(|(l, _)| *l == tag))
        .or_else(|| FRAMES.iter().find(|(l, _)| *l == primary))
        .map(|(_, frame)| *frame)
}

/// The post quoted inside its language's frame; `None` for a language without one.
pub(super) fn quote_condemn(text: &str, lang: &str) -> Option<String> {
    frame_for(lang).map(|frame| frame.replacen("{post}", text.trim(), 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_frame_quotes_the_post_once() {
        let nfc = icu_normalizer::ComposingNormalizerBorrowed::new_nfc();
        for (lang, frame) in FRAMES {
            assert_eq!(frame.matches("{post}").count(), 1, "{lang}");
            assert_eq!(nfc.normalize(frame), *frame, "{lang}: stored in NFC");
        }
        assert_eq!(
            quote_condemn("Kill the Sikhs.", "en-GB").as_deref(),
            Some("Someone posted this: \"Kill the Sikhs.\" — this is hate, and I reported it.")
        );
        assert!(quote_condemn("x", "hi-Latn").unwrap().starts_with("Kisi ne"));
        assert!(quote_condemn("x", "hi").unwrap().starts_with("किसी"));
        assert!(quote_condemn("x", "zh-Hans").unwrap().starts_with("有人"));
        assert_eq!(quote_condemn("x", "de"), None);
    }
}
