"""Placeholder turns: what a weak teacher writes where content should be ("...", "[answer]",
"(same as example 4)", "TODO", "lorem ipsum"), in every language synthgen reads seeds in.

The phrases are matched against a whole turn's normalised text (lower case, punctuation
dropped), so "[Answer]" reads "answer" and "(Same as example 4.)" reads "same as example 4".
A slot word ("answer", "odpowiedź", "答案") is a placeholder only in brackets, alone or with
a word or two ("[your answer]", "<answer 2>"): bare, it can be a real one-word reply. A
stock phrase ("your answer here", "wie oben", "同上") is one on its own. Keep the lists to
stock phrases: each entry is a regular expression.
"""

from __future__ import annotations

import re

from synthgen.text.normalize import normalize

__all__ = ["PLACEHOLDERS", "placeholder_reason"]

_N = r"(?: ?\d+\w*)?"  # an example's number, with a case ending ("örnek 4'teki": "4teki")

# language: (slot words, stock phrases)
PLACEHOLDERS: dict[str, tuple[str, str]] = {
    "*": ("", r"todo|tbd|tba|fixme|xxx|placeholder|lorem ipsum(?: dolor.*)?"),
    "en": (
        r"answer|response|reply|output|text|content|message|question",
        r"(?:insert|put|write|add|type) (?:the |your |an )?(?:answer|response|reply|text)"
        r"(?: here)?|(?:your |the )?(?:answer|response|reply|text) (?:goes )?here"
        rf"|same as (?:above|before|the previous one|(?:in )?(?:the )?(?:previous )?example{_N})"
        rf"|see (?:above|example{_N})|etc|and so on|to be (?:written|added|completed)",
    ),
    "pl": (
        r"odpowiedź|odpowiedz|treść|tekst|pytanie|wiadomość",
        r"(?:wstaw|wpisz|tutaj|tu) (?:tutaj |tu )?(?:twoją |twoja )?odpowiedź(?: tutaj| tu)?"
        rf"|twoja odpowiedź (?:tutaj|tu)|(?:tak )?jak (?:wyżej|powyżej|w przykładzie{_N})"
        rf"|to samo co (?:wyżej|powyżej|w przykładzie{_N})|do uzupełnienia|itd|i tak dalej",
    ),
    "de": (
        r"antwort|text|inhalt|frage|nachricht",
        r"(?:ihre |deine )?antwort hier|hier (?:die |ihre |deine )?antwort(?: einfügen)?"
        rf"|antwort (?:hier )?einfügen|(?:wie|siehe) (?:oben|in beispiel{_N}|beispiel{_N})"
        r"|platzhalter|usw|und so weiter",
    ),
    "fr": (
        r"réponse|texte|contenu|question|message",
        r"(?:votre |ta )?réponse ici|(?:insérer|insérez|écrivez) (?:la |votre )?réponse(?: ici)?"
        rf"|(?:comme|voir|idem) (?:cidessus|plus haut|dans lexemple{_N}|lexemple{_N})"
        r"|à compléter|espace réservé|etc|et ainsi de suite",
    ),
    "es": (
        r"respuesta|texto|contenido|pregunta|mensaje",
        r"(?:tu |su )?respuesta aquí|(?:inserta|insertar|escribe) (?:la |tu |su )?respuesta"
        rf"(?: aquí)?|(?:igual|lo mismo) que (?:arriba|antes|(?:en )?el ejemplo{_N})"
        rf"|(?:como|ver) (?:arriba|en el ejemplo{_N})|marcador de posición|etc|por completar",
    ),
    "it": (
        r"risposta|testo|contenuto|domanda|messaggio",
        r"(?:la tua )?risposta qui|(?:inserisci|scrivi) (?:qui )?(?:la )?risposta(?: qui)?"
        rf"|(?:come|vedi) (?:sopra|nellesempio{_N}|esempio{_N})"
        rf"|(?:uguale|identico) (?:a sopra|allesempio{_N})|segnaposto|ecc|eccetera|da completare",
    ),
    "pt": (
        r"resposta|texto|conteúdo|pergunta|mensagem",
        r"(?:sua )?resposta aqui|(?:insira|escreva) (?:a |sua )?resposta(?: aqui)?"
        rf"|(?:igual|o mesmo) (?:a|ao|que) (?:acima|o exemplo{_N}|exemplo{_N})"
        rf"|(?:como|ver) (?:acima|no exemplo{_N})|espaço reservado|etc|a preencher",
    ),
    "nl": (
        r"antwoord|tekst|inhoud|vraag|bericht",
        r"(?:je |jouw |uw )?antwoord hier|vul hier (?:het |je |uw )?antwoord in"
        rf"|(?:zie|zoals) (?:hierboven|boven|in voorbeeld{_N}|voorbeeld{_N})"
        rf"|(?:zelfde|hetzelfde) als (?:hierboven|voorbeeld{_N})|enz|nog in te vullen",
    ),
    "ru": (
        r"ответ|текст|содержание|вопрос|сообщение",
        r"(?:ваш |твой )?ответ (?:здесь|тут)|(?:вставьте|введите|напишите) (?:сюда )?ответ"
        rf"(?: здесь| сюда)?|(?:как|см) (?:выше|в примере{_N})"
        rf"|то же(?: самое)?(?: что)?(?: и)? (?:выше|в примере{_N})|заполнитель|и т ?д|и так далее",
    ),
    "uk": (
        r"відповідь|текст|зміст|питання|повідомлення",
        r"(?:ваша |твоя )?відповідь тут|(?:вставте|введіть|напишіть) (?:сюди )?відповідь"
        rf"(?: тут| сюди)?|як (?:вище|у прикладі{_N}|в прикладі{_N})"
        rf"|те саме(?: що)? (?:вище|у прикладі{_N})|заповнювач|і т ?д|і так далі",
    ),
    "cs": (
        r"odpověď|text|obsah|otázka|zpráva",
        r"(?:vaše |tvoje )?odpověď (?:zde|sem)|(?:sem )?(?:vložte|napište|doplňte) (?:sem )?"
        rf"odpověď(?: sem| zde)?|(?:stejně )?jako (?:výše|v příkladu{_N})|viz (?:výše|příklad{_N})"
        r"|zástupný text|atd|a tak dále",
    ),
    "sv": (
        r"svar|text|innehåll|fråga|meddelande",
        r"(?:ditt )?svar här|(?:infoga|skriv) (?:ditt )?svar(?:et)?(?: här)?"
        rf"|(?:samma som|som|se) (?:ovan|i exempel{_N}|exempel{_N})|platshållare|osv|och så vidare",
    ),
    "tr": (
        r"cevap|yanıt|metin|içerik|soru|mesaj",
        r"(?:cevabınız|yanıtınız|cevap|yanıt) (?:buraya|burada)"
        r"|(?:cevabı|yanıtı) buraya (?:yazın|ekleyin|girin)|yukarıdaki(?:yle aynı| gibi)"
        rf"|örnek{_N} (?:ile aynı|gibi)|yer tutucu|vb|vs|ve benzeri",
    ),
    "zh": (
        r"答案|回答|内容|文本|问题",
        r"(?:在此|此处|这里)(?:填写|插入|输入)?(?:答案|回答)|同上|同示例\d*|与示例\d*相同"
        r"|略|省略|待补充|待定|占位符|等等",
    ),
    "ja": (
        r"回答|答え|内容|テキスト|質問",
        r"ここに(?:回答|答え)を?(?:入力|記入|挿入)?(?:してください)?|例\d*と同じ|上記と同じ|同上"
        r"|省略|未定|プレースホルダー",
    ),
    "ko": (
        r"답변|답|내용|텍스트|질문",
        r"여기에 ?(?:답변|답)[을를]? ?(?:입력|작성)?(?:하세요)?|예시 ?\d*[와과] ?(?:같음|동일)"
        r"|위와 ?(?:같음|동일)|생략|자리 ?표시자|미정|등등",
    ),
}

_PHRASE = re.compile("|".join(f"(?:{phrases})" for _, phrases in PLACEHOLDERS.values()))
_SLOT_WORDS = "|".join(slots for slots, _ in PLACEHOLDERS.values() if slots)
# A slot word in brackets, with at most two words either side: "[answer]", "<your answer>".
_SLOT = re.compile(rf"(?:\w+ ){{0,2}}(?:{_SLOT_WORDS})(?: \w+){{0,2}}")
_BRACKETED = re.compile(r"\s*[\[<{(【「《（](.{1,80})[\]>})】」》）]\s*", re.DOTALL)
_ALNUM = re.compile(r"[^\W_]")
_SHORT = 300  # stock phrases are short; only lorem ipsum runs long


def placeholder_reason(text: str) -> str | None:
    """Why a whole turn is a placeholder rather than content, or None when it is not."""
    if not _ALNUM.search(text):
        return "no letters or digits"
    if len(text) > _SHORT:
        return "lorem ipsum" if normalize(text[:_SHORT]).startswith("lorem ipsum dolor") else None
    norm = normalize(text)
    if _PHRASE.fullmatch(norm):
        return "a stock placeholder phrase"
    bracketed = _BRACKETED.fullmatch(text)
    if bracketed and _SLOT.fullmatch(normalize(bracketed.group(1))):
        return "a slot in brackets"
    return None
