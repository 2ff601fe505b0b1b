"""Language identification without models or downloads, and a filter built on it.

How ``detect`` decides, cheapest evidence first:

1. The writing system. Letters are counted per Unicode script (Han, kana and Hangul count
   three times: one such character carries about as much as a short word). Scripts that one
   language owns settle it at once: Hangul is Korean, Han with kana is Japanese, Han alone is
   Chinese, Greek is Greek, and so on; Arabic-script text is Arabic unless letters only
   Persian or Urdu use are frequent.
2. Latin and Cyrillic text is scored per language: each frequent function word ("the", "się",
   "және") adds 1, split between the languages that share it, and each characteristic letter
   (ł, ș, ß, ї, қ ...) adds ``_LETTER_WEIGHT``, split the same way; each letter outside a
   language's alphabet takes as much away (ы is not Ukrainian; å is none of ours).
3. The best score must be real evidence: at least 1, clearly ahead of the runner-up, and large
   enough for the number of words, so a language we have no list for (Swedish, Finnish) is
   "don't know" rather than a confident guess. Fewer than 3 words also need a letter only the
   winning language uses.

Code blocks, inline code and URLs are removed first (they are English-looking in every
language), and only the first ``_MAX_CHARS`` characters are read: detection needs a sample,
not the whole answer.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synthgen.errors import ConfigError

if TYPE_CHECKING:
    from synthgen.curate.filters import Drop
    from synthgen.data.example import Example

__all__ = ["SUPPORTED", "LanguageFilter", "detect", "dominant_language"]

_MAX_CHARS = 4_000
_LETTER_WEIGHT = 0.5
_MARGIN = 1.25  # best score must beat the runner-up by this factor
_MIN_EVIDENCE_PER_WORD = 0.08
_MIN_WORDS = 3
_MIN_SCRIPT_LETTERS = 2  # for scripts one language owns
_WIDE = {"han": 3, "kana": 3, "hangul": 3}
_KANA_SHARE_JA = 0.1  # Japanese prose is 30-60 % kana; Chinese has none

# --- script tables -----------------------------------------------------------------------

_OWNED_SCRIPTS = {
    "GREEK": "el",
    "HEBREW": "he",
    "THAI": "th",
    "DEVANAGARI": "hi",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
    "BENGALI": "bn",
    "TAMIL": "ta",
    "HANGUL": "ko",
}
_SCORED_SCRIPTS = ("LATIN", "CYRILLIC")
_PERSIAN_LETTERS = frozenset("پچژگکی")
_URDU_LETTERS = frozenset("ٹڈڑںےۓ")


class _ScriptTable(dict[str, str]):
    """Character -> script name ("" for non-letters). Filled on demand from Unicode names."""

    def __missing__(self, ch: str) -> str:
        script = ""
        if unicodedata.category(ch).startswith("L"):
            name = unicodedata.name(ch, "")
            if "CJK" in name or name.startswith("IDEOGRAPHIC"):
                script = "han"
            elif "HIRAGANA" in name or "KATAKANA" in name:
                script = "kana"
            elif "HANGUL" in name:
                script = "hangul"
            else:
                words = name.split()
                first = words[1] if words and words[0] in ("FULLWIDTH", "HALFWIDTH") else ""
                script = (first or (words[0] if words else "")).lower()
        self[ch] = script
        return script


_SCRIPT = _ScriptTable()

# --- per-language evidence for Latin and Cyrillic ------------------------------------------

_STOPWORDS: dict[str, str] = {
    "en": """the and of to in is that it for was on are with as this be at by have from or an
        they which you your we not but can will all there their has been were would what when
        more if about how do does should these than into also its our my he she his her them
        who so just because some any could other only may use then here those very i me him us
        out up get like make over after before where why while through each both between
        being did had am most such own same well even new want need first many much every
        never always today now know please yes""",
    "pl": """i w z na się nie do to że jest o jak co ale po tak od za przez dla jego jej są
        czy już tylko może ten ta te tego tym także również bardzo który która które którzy
        oraz gdy więc jeśli aby być był była było jednak przy pod nad ich mnie mi ci go też
        sobie można trzeba gdzie kiedy dlaczego bo ani lub albo jako jeszcze tu mój moja moje
        twój swój swoje swojego swojej jestem jesteś mam ma mają będzie będą nas nam wam ją
        nim niej nich dobrze teraz zawsze nigdy wszystko wszystkie bardziej przed między bez
        według chcesz musisz proszę około dzięki więcej każdy dziś dzisiaj wiem""",
    "de": """der die das und ist nicht ein eine zu den von mit sich des auf für im dem auch es
        an als werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über
        einen so zum war haben nur oder aber vor zur bis mehr durch man kann wenn ich wir ihr
        ihre sein diese dieser wurde sehr schon hier gibt können müssen ihnen mein meine dein
        unser seine seiner ihren ihrem kein keine nichts immer heute jetzt dann da weil ob
        viel viele alle alles dort wo was wer warum etwas doch mal ja nein habe hast hatte
        bin bist waren würde sollte soll muss mich dich uns euch ihm ihn zwischen unter ohne
        gegen seit während jeder jede zwei bitte du mir dir""",
    "fr": """le la les de des et est un une du en que qui dans pour pas sur au aux avec ce
        cette ces il elle ils nous vous sont ne par plus mais ou son sa ses leur se on été
        être avoir fait comme tout très aussi sans peut je mon votre vos y où donc si même
        deux entre c l d qu n s j faut mes tes ton notre nos leurs lui eux moi toi me te
        cela ça ceci quand comment pourquoi parce toujours jamais rien beaucoup encore alors
        avant après chez sous vers depuis pendant ai as avez avons ont suis sommes êtes était
        sera faire dit bien trop peu tous toutes autre chaque""",
    "es": """el la los las de del y que en un una es por para con no se lo su sus al como más
        pero le ya o este esta esto ha me si sin sobre también entre cuando muy todo hay
        puede ser son está están fue hasta desde nos porque donde qué cómo yo tu usted ni
        otro cada hacer tiene mi mis tus nuestro nuestra él ella ellos ellas les te siempre
        nunca nada algo mucho mucha muchos ahora aquí allí antes después durante contra según
        tengo tienes tienen he has han hemos era eran estaba estoy estamos soy eres somos va
        van voy hace puedes pueden bien mejor cuál quién todos todas esa ese eso estos estas
        otra mismo cosa tan""",
    "it": """il lo la i gli le di del della dei delle e è che non un una uno per in con su da
        dal dalla al alla si ma come più anche sono questo questa quello ha hanno essere
        molto se nel nella ci mi ti tutto suo sua loro può quando dove perché cosa ed tra fra
        già io noi voi stato sia mio mia miei mie tuo tua tuoi tue nostro nostra vostro lui lei
        li ne vi nei negli nelle nello sul sulla sui sugli alle ai agli allo dello degli dai
        dalle sempre mai niente qualcosa ogni ora adesso qui qua là prima dopo senza sotto
        sopra ho hai abbiamo avete era erano sei siamo siete sarà fatto fare bene tanto quale
        chi tutti tutte altro altri stesso cui poi quindi però mentre così l dell nell all dall""",
    "pt": """o a os as de do da dos das e é que em no na nos nas um uma para com não por se mais
        mas como ao aos à seu sua ele ela eles são foi ser está isso este esta já também
        muito quando onde porque pode ou pelo pela sem entre você eu nós tem têm há ainda até
        depois só meu minha meus minhas teu nosso nossa dele dela deles lhe me te num numa
        pelos pelas às sempre nunca nada algo agora aqui ali antes durante tenho temos estou
        estamos estão sou somos era eram vai vou vão fazer faz bem melhor qual quem todos
        todas outro outra mesmo coisa tão então assim cada essa esse aquele aquela seus suas
        nesta neste nessa nesse disso desta deste dessa desse""",
    "nl": """de het een en van in is dat op te zijn met voor niet aan er om die ook als maar
        bij of door naar uit dan nog wat worden wordt kan heeft hebben deze dit was werd zo
        meer wel al geen ze zij hij ik je jij u we wij onze hun veel moet kunnen zal tot over
        nu heel hoe waar omdat mijn jouw jullie haar hem ons mij me zich altijd nooit niets
        iets alles hier daar toen dus want echter zonder onder tussen tegen sinds tijdens ben
        bent heb hebt had waren zou zouden moeten wil willen gaan gaat ging doen doet goed
        beter welke wie waarom alle ander andere elke zelf mee toch na via""",
    # Romanian is often typed without diacritics: the last line has the bare spellings.
    "ro": """și şi în de la a cu pe că care nu un o este sunt din pentru se mai ce sau dar au
        fost fi al ale lui ei el ea prin despre acest această aceasta acesta său sale foarte
        poate când unde cum după între până doar eu noi voi vă ne îl îi avea are am fără
        dacă meu mea mele tău tale nostru noastră lor îți îmi mi ți mereu niciodată nimic
        ceva acum aici acolo înainte apoi atunci sub lângă ești suntem sunteți era erau va
        vor poți pot putem trebuie face bine cine toate toți alt altă alte fiecare același
        așa deci însă azi mult multă multe mulți unei unui cel cea cei cele
        si daca dupa cand pana fara sa ca asta""",
    "cs": """a se na je v že to s z do o k i jako ale by pro jsou jsem jeho její který která
        které po od za při tak už jen aby nebo ve ze také však být byl byla bylo má mají může
        když protože tento tato toto jak co si mi bez před mezi nás vás jejich velmi kde můj
        moje tvůj náš váš svůj své svého svým svou jsi jsme jste bude budou byli mám máš
        máme máte mít není nejsou vždy vždycky nikdy nic něco teď nyní tady tam tedy proto
        pak jestli zda pokud kdo proč všechno všechny každý jiný tomu toho tom tím ho mu jí
        jim ní něj nich ještě více víc hodně dnes""",
    "tr": """bir ve bu da de için ile çok ne daha olarak olan gibi kadar ama en her o ben sen
        biz siz onlar var yok değil mi mı mu mü şey sonra önce ise ki veya çünkü nasıl neden
        nerede bunu şu bunlar olduğu oldu olur sadece hem ya göre kendi tüm bütün diye zaman
        içinde üzerinde gerekir eğer benim senin onun bizim sizin bana sana ona beni seni onu
        hiç hiçbir şimdi burada orada bugün yarın dün az bazı birkaç başka aynı dolayı rağmen
        karşı arasında evet hayır bile artık henüz belki yani fakat ancak ayrıca bunun buna
        etti eder olmak""",
    "ru": """и в не на я что он с это как а то все она так его но да ты к у же вы за бы по
        только ее её мне было вот от меня еще ещё нет о из ему когда даже ли если уже или
        ни быть был до вас там потом себя ничего может они тут где есть надо для мы их чем
        была сам чтобы без чего тоже себе под будет тогда кто этот этого который которые
        очень можно нужно мой моя мои твой наш ваш свой своей свою свои эта эти тот весь вся
        всё всего всех сегодня завтра вчера сейчас здесь всегда никогда много мало больше
        меньше также потому поэтому после перед через между около про над со во об ко нам
        нас им ей оно тебе были будут будем буду является можете хочу какой какая какие
        куда почему зачем сколько один одна два""",
    "uk": """і й та в у на не що з до як це за по від для але він вона воно вони ми ви я ти
        його її їх був була було були є так або чи вже ще також тому коли якщо щоб лише
        тільки дуже можна треба який яка яке які цей ця ці цього свій себе між після через
        під над без при мій моя мої твій наш ваш свою своїй свого той ті весь вся все всі
        сьогодні завтра вчора зараз тут там завжди ніколи багато мало більше менше перед
        біля про зі із нам нас їм ним ній мені тобі собі будуть буде будемо буду може
        можете хочу потрібно де куди чому навіщо скільки один одна два ось""",
    "kk": """және бұл мен да де та те бір деп үшін болып болды ол біз сіз олар оның емес бар
        жоқ қазір ғана өз сол осы көп еді екен керек туралы арқылы бойынша кейін дейін
        сияқты тек барлық әр қалай неге қашан қай кім не мүмкін жылы болады береді алады
        сен менің сенің біздің сіздің маған саған оған бізге оны мені сені бүгін ертең кеше
        мұнда онда әрқашан ешқашан өте аз тағы немесе бірақ егер себебі сондықтан бірге иә
        болса болатын болған бола ма ме ба бе па пе""",
    "bg": """и в на е да се не за от с по че са това като който която които но или до при
        след към ще има няма беше бяха той тя те ние вие аз ти му си ли още само много тук
        там кога как защо където със във един една едно този тази тези може трябва мой моя
        мои твой наш ваш свой своя днес утре вчера сега винаги никога малко повече също
        защото затова преди през между около над под без съм сме сте бил била било били
        искам мога можете ми ме го ги нея него какво какъв каква какви къде кой коя кое кои
        всеки всички всичко нещо нищо""",
}

# Letters (and two punctuation marks) that point at a language; shared ones split their weight.
_LETTERS: dict[str, str] = {
    "en": "",
    "pl": "ąęłńśźżćó",
    "de": "ßäöü",
    "fr": "àâçèéêëîïôœùûÿ",
    "es": "ñáéíóú¿¡",
    "it": "àèéìòù",
    "pt": "ãõçáâêôéíóúà",
    "nl": "ëï",
    "ro": "ăâîșțşţ",
    "cs": "áčďéěíňóřšťúůýž",
    "tr": "çğıöşüâû",
    "ru": "ыэё",
    "uk": "іїєґ",
    "kk": "әғқңөұүһіыэ",
    "bg": "ъ",
}
_ABC = "abcdefghijklmnopqrstuvwxyz"
_RU = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
# Each language's alphabet: a letter of its script outside it counts against the language
# (ы is not Ukrainian, å is none of ours), which keeps unknown languages from winning.
_ALPHABETS: dict[str, frozenset[str]] = {
    lang: frozenset(letters)
    for lang, letters in {
        "en": _ABC,
        "pl": _ABC + "ąćęłńóśźż",
        "de": _ABC + "äöüß",
        "fr": _ABC + "àâæçéèêëîïôœùûüÿ",
        "es": _ABC + "áéíñóúü",
        "it": _ABC + "àèéìíîòóùú",
        "pt": _ABC + "áàâãçéêíóôõú",
        "nl": _ABC + "áéèëïóöü",
        "ro": _ABC + "ăâîșțşţ",
        "cs": _ABC + "áčďéěíňóřšťúůýž",
        "tr": _ABC + "çğıöşüâîû",
        "ru": _RU,
        "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
        "kk": _RU + "әғқңөұүһі",
        "bg": "абвгдежзийклмнопрстуфхцчшщъьюяѝ",
    }.items()
}
_LANG_SCRIPT = {lang: "latin" if "a" in abc else "cyrillic" for lang, abc in _ALPHABETS.items()}
# ъ before е/ё/ю/я is the Russian hard sign (объект); elsewhere it is a Bulgarian vowel (път).
_HARD_SIGN = re.compile("ъ(?=[еёюя])")


def _invert(table: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for lang, items in table.items():
        for item in dict.fromkeys(items):  # unique, in order
            out.setdefault(item, []).append(lang)
    return {k: tuple(v) for k, v in out.items()}


_WORD_LANGS = _invert({lang: words.split() for lang, words in _STOPWORDS.items()})
_LETTER_LANGS = _invert(_LETTERS)

SUPPORTED: frozenset[str] = frozenset(
    [*_LANG_SCRIPT, "zh", "ja", "ar", "fa", "ur", *_OWNED_SCRIPTS.values()]
)

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`|https?://\S+|\S+@\S+\.\w+", re.DOTALL)
_WORD = re.compile(r"[^\W\d_]+")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", _CODE.sub(" ", text[: 4 * _MAX_CHARS]))[:_MAX_CHARS]
    # Python lower-cases Turkish İ to i + combining dot, which would split the word.
    return text.lower().replace("\u0307", "")


def detect(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language, or None when it is too short or unclear."""
    lower = _clean(text)
    chars = Counter(lower)
    weights: Counter[str] = Counter()
    for ch, n in chars.items():
        script = _SCRIPT[ch]
        if script:
            weights[script] += n * _WIDE.get(script, 1)
    if not weights:
        return None
    # Japanese mixes Han and kana: judge them together against the other scripts.
    cjk = weights.pop("han", 0) + weights.pop("kana", 0)
    if cjk:
        weights["cjk"] = cjk
    script = max(weights, key=lambda s: weights[s])
    if script == "cjk":
        return _cjk(chars)
    if script == "arabic":
        return _arabic(chars)
    if script.upper() in _OWNED_SCRIPTS:
        letters = sum(n for ch, n in chars.items() if _SCRIPT[ch] == script)
        return _OWNED_SCRIPTS[script.upper()] if letters >= _MIN_SCRIPT_LETTERS else None
    if script.upper() in _SCORED_SCRIPTS:
        return _score(lower, chars, script)
    return None


def _cjk(chars: Counter[str]) -> str | None:
    han = sum(n for ch, n in chars.items() if _SCRIPT[ch] == "han")
    kana = sum(n for ch, n in chars.items() if _SCRIPT[ch] == "kana")
    if han + kana < _MIN_SCRIPT_LETTERS:
        return None
    return "ja" if kana >= _KANA_SHARE_JA * (han + kana) else "zh"


def _arabic(chars: Counter[str]) -> str | None:
    letters = sum(n for ch, n in chars.items() if _SCRIPT[ch] == "arabic")
    if letters < 2 * _MIN_SCRIPT_LETTERS:
        return None
    urdu = sum(chars[ch] for ch in _URDU_LETTERS)
    persian = sum(chars[ch] for ch in _PERSIAN_LETTERS)
    # Persian and Urdu write yeh and kaf with their own letters, used in most sentences.
    if urdu >= max(1, 0.01 * letters):
        return "ur"
    if persian >= 0.03 * letters:
        return "fa"
    return "ar"


def _rank(
    lower: str, chars: Counter[str], script: str
) -> tuple[list[tuple[str, float]], int, Counter[str]]:
    """Languages of ``script`` by score, the number of words, and exclusive-letter counts."""
    words = [w for w in _WORD.findall(lower) if _SCRIPT[w[0]] == script]
    scores: dict[str, float] = dict.fromkeys(
        (lang for lang, s in _LANG_SCRIPT.items() if s == script), 0.0
    )
    for word, n in Counter(words).items():
        langs = _WORD_LANGS.get(word, ())
        for lang in langs:
            scores[lang] += n / len(langs)
    exclusive: Counter[str] = Counter()
    for ch, n in chars.items():
        if _SCRIPT[ch] != script:
            continue
        missing, langs = _letter_effect(ch, script)
        for lang in missing:
            scores[lang] -= _LETTER_WEIGHT * n
        if ch == "ъ":
            hard_signs = len(_HARD_SIGN.findall(lower))
            scores["ru"] += _LETTER_WEIGHT * hard_signs
            n -= hard_signs
        for lang in langs:
            scores[lang] += _LETTER_WEIGHT * n / len(langs)
        if len(langs) == 1 and n:
            exclusive[langs[0]] += n
    return sorted(scores.items(), key=lambda kv: -kv[1]), len(words), exclusive


@functools.lru_cache(maxsize=4096)
def _letter_effect(ch: str, script: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """For a letter of ``script``: the languages whose alphabet lacks it, and those it
    points to (computed once per letter: this runs for every candidate)."""
    langs = [lang for lang, s in _LANG_SCRIPT.items() if s == script]
    missing = tuple(lang for lang in langs if ch not in _ALPHABETS[lang])
    pointed = tuple(lang for lang in _LETTER_LANGS.get(ch, ()) if lang in langs)
    return missing, pointed


def _score(lower: str, chars: Counter[str], script: str) -> str | None:
    ranked, words, exclusive = _rank(lower, chars, script)
    (best, top), (_, second) = ranked[0], ranked[1]
    if words < _MIN_WORDS and not exclusive[best]:
        return None
    if top < 1.0 or top < _MARGIN * second:
        return None
    if top < _MIN_EVIDENCE_PER_WORD * words:
        return None  # hardly any of our words: a language we do not know
    return best


def dominant_language(texts: Iterable[str]) -> str | None:
    """The language of more than half of the texts whose language is known, else None:
    seeds in several languages get no single expected language."""
    counts = Counter(lang for lang in map(detect, texts) if lang is not None)
    if not counts:
        return None
    lang, n = counts.most_common(1)[0]
    return lang if 2 * n > sum(counts.values()) else None


_SAMPLE = 400


@dataclass(frozen=True)
class LanguageFilter:
    """Drops an example whose turns are confidently in another language than ``expected``.

    Each role in ``roles`` is judged on all its turns together; a role whose language cannot be
    told passes (short or mixed text is not evidence of a wrong language). Use
    ``roles=("assistant",)`` for datasets where the user writes in another language, such as
    translation.
    """

    expected: str
    roles: Sequence[str] = ("assistant", "user")

    def __post_init__(self) -> None:
        if self.expected not in SUPPORTED:
            known = ", ".join(sorted(SUPPORTED))
            raise ConfigError(f"cannot check language {self.expected!r}; known: {known}")

    def __call__(self, example: Example) -> Drop | None:
        from synthgen.curate.filters import Drop

        for role in self.roles:
            # The first few hundred characters tell the language as well as the whole text
            # does, at a fraction of the cost on the curation hot path.
            text = "\n".join(m.content for m in example.turns if m.role == role)[:_SAMPLE]
            got = detect(text) if text else None
            if got is not None and got != self.expected:
                return Drop("wrong_language", f"expected {self.expected}, got {got} ({role})")
        return None
