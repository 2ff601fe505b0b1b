from __future__ import annotations

import pytest

from synthgen.curate.filters import Drop
from synthgen.curate.language import SUPPORTED, LanguageFilter, detect, dominant_language
from synthgen.data.example import Example
from synthgen.errors import ConfigError

# Ordinary sentences of 8+ words, the kind seeds and teacher answers are made of.
SENTENCES: dict[str, list[str]] = {
    "en": [
        "The train to Manchester was delayed by almost forty minutes this morning.",
        "You can reset your password from the settings page of your account.",
        "We recommend drinking plenty of water when the weather is this hot.",
        "If the package has not arrived within five days, please contact us again.",
        "She decided to learn the guitar because her brother played in a band.",
        "Most of the budget goes to salaries, which leaves little for new equipment.",
    ],
    "pl": [
        "Pociąg do Krakowa odjeżdża z dworca centralnego o siódmej rano.",
        "Jeśli chcesz zmienić hasło, przejdź do ustawień swojego konta.",
        "W tym roku zima była wyjątkowo łagodna, więc prawie nie padał śnieg.",
        "Moja babcia zawsze piekła szarlotkę, kiedy przyjeżdżaliśmy do niej na wakacje.",
        "Lekarz zalecił mi odpoczynek i picie dużej ilości wody przez kilka dni.",
        "Nie wiem, czy zdążymy na koncert, bo korki w mieście są ogromne.",
    ],
    "de": [
        "Der Zug nach München hat heute leider eine Stunde Verspätung.",
        "Sie können Ihr Passwort jederzeit in den Kontoeinstellungen ändern.",
        "Wir haben am Wochenende einen langen Spaziergang durch den Wald gemacht.",
        "Die Regierung plant neue Gesetze, um die Mieten in Großstädten zu begrenzen.",
        "Mein Bruder arbeitet seit drei Jahren als Ingenieur bei einer Firma in Hamburg.",
        "Bitte schicken Sie uns die Unterlagen bis spätestens Freitag zurück.",
    ],
    "fr": [
        "Le train pour Lyon partira avec une heure de retard ce matin.",
        "Vous pouvez modifier votre mot de passe dans les paramètres du compte.",
        "Nous avons passé nos vacances dans un petit village au bord de la mer.",
        "Il faut ajouter le sucre progressivement et mélanger jusqu'à obtenir une pâte lisse.",
        "Ma sœur travaille comme infirmière dans un hôpital de la banlieue parisienne.",
        "Je ne sais pas si le magasin sera encore ouvert après vingt heures.",
    ],
    "es": [
        "El tren a Sevilla saldrá con una hora de retraso esta mañana.",
        "Puedes cambiar tu contraseña desde la página de configuración de tu cuenta.",
        "Pasamos el verano en un pueblo pequeño cerca de la costa gallega.",
        "Mi abuela siempre preparaba tortilla de patatas cuando íbamos a visitarla.",
        "¿Sabes si la biblioteca abre los domingos por la tarde?",
        "El médico me recomendó descansar y beber mucha agua durante varios días.",
    ],
    "it": [
        "Il treno per Firenze partirà con un'ora di ritardo questa mattina.",
        "Puoi cambiare la tua password nelle impostazioni del tuo account.",
        "Abbiamo passato le vacanze in un piccolo paese vicino al mare.",
        "Mia nonna preparava sempre le lasagne quando andavamo a trovarla la domenica.",
        "Non so se il negozio sarà ancora aperto dopo le otto di sera.",
        "Il medico mi ha consigliato di riposare e di bere molta acqua.",
    ],
    "pt": [
        "O comboio para o Porto vai partir com uma hora de atraso esta manhã.",
        "Você pode alterar sua senha na página de configurações da sua conta.",
        "Passamos as férias numa pequena aldeia perto do mar, no sul do país.",
        "A minha avó fazia sempre bolo de laranja quando íamos visitá-la.",
        "Não sei se a loja ainda vai estar aberta depois das oito da noite.",
        "O médico recomendou que eu descansasse e bebesse muita água durante a semana.",
    ],
    "nl": [
        "De trein naar Utrecht vertrekt vanochtend met een uur vertraging.",
        "Je kunt je wachtwoord wijzigen via de instellingen van je account.",
        "We hebben de vakantie doorgebracht in een klein dorp aan de kust.",
        "Mijn oma bakte altijd appeltaart als we bij haar op bezoek kwamen.",
        "Ik weet niet of de winkel na acht uur 's avonds nog open is.",
        "De gemeente wil meer fietspaden aanleggen om het verkeer in de stad te verminderen.",
    ],
    "ro": [
        "Trenul spre Cluj va pleca azi dimineață cu o oră întârziere.",
        "Îți poți schimba parola din pagina de setări a contului tău.",
        "Am petrecut vacanța într-un sat mic de lângă mare, în sudul țării.",
        "Bunica mea făcea mereu cozonac când mergeam la ea de sărbători.",
        "Nu știu dacă magazinul mai este deschis după ora opt seara.",
        "Medicul mi-a recomandat să mă odihnesc și să beau multă apă câteva zile.",
    ],
    "cs": [
        "Vlak do Brna dnes ráno odjede s hodinovým zpožděním.",
        "Heslo si můžete změnit v nastavení svého uživatelského účtu.",
        "Prázdniny jsme strávili v malé vesnici nedaleko hor na Šumavě.",
        "Moje babička vždycky pekla koláče, když jsme za ní přijeli na návštěvu.",
        "Nevím, jestli bude obchod otevřený ještě po osmé hodině večer.",
        "Lékař mi doporučil, abych několik dní odpočíval a pil hodně vody.",
    ],
    "tr": [
        "İstanbul'a giden tren bu sabah bir saat gecikmeyle kalkacak.",
        "Şifrenizi hesap ayarları sayfasından istediğiniz zaman kolayca değiştirebilirsiniz.",
        "Yaz tatilimizi deniz kenarındaki küçük bir köyde geçirdik.",
        "Babaannem biz ziyarete gittiğimizde her zaman börek yapardı.",
        "Mağazanın akşam sekizden sonra hâlâ açık olup olmadığını bilmiyorum.",
        "Doktor birkaç gün dinlenmemi ve bol su içmemi tavsiye etti.",
    ],
    "ru": [
        "Поезд в Санкт-Петербург сегодня утром отправится с опозданием на час.",
        "Вы можете изменить пароль в настройках своей учётной записи.",
        "Мы провели отпуск в маленькой деревне на берегу озера.",
        "Моя бабушка всегда пекла пироги, когда мы приезжали к ней летом.",
        "Я не знаю, будет ли магазин открыт после восьми часов вечера.",
        "Врач посоветовал мне несколько дней отдыхать и пить больше воды.",
    ],
    "uk": [
        "Потяг до Львова сьогодні вранці вирушить із запізненням на годину.",
        "Ви можете змінити пароль у налаштуваннях свого облікового запису.",
        "Ми провели відпустку в маленькому селі біля річки в Карпатах.",
        "Моя бабуся завжди пекла пиріжки, коли ми приїжджали до неї влітку.",
        "Я не знаю, чи буде магазин відчинений після восьмої години вечора.",
        "Лікар порадив мені кілька днів відпочивати і пити більше води.",
    ],
    "kk": [
        "Алматыға баратын пойыз бүгін таңертең бір сағат кешігіп жүреді.",
        "Құпия сөзді есептік жазбаның баптаулары бөлімінде өзгертуге болады.",
        "Біз жазғы демалысты көл жағасындағы шағын ауылда өткіздік.",
        "Әжем біз оған қонаққа барғанда әрқашан бауырсақ пісіретін.",
        "Дүкен кешкі сегізден кейін ашық па, жоқ па, білмеймін.",
        "Дәрігер маған бірнеше күн демалып, көп су ішуге кеңес берді.",
    ],
    "zh": [
        "今天早上去上海的火车晚点了一个小时。",
        "您可以在账户设置页面随时修改您的密码。",
        "我们在海边的一个小村庄度过了暑假。",
        "我奶奶每次我们去看她的时候都会包饺子。",
        "我不知道这家商店晚上八点以后还开不开门。",
        "医生建议我休息几天，并且多喝水。",
    ],
    "ja": [
        "大阪行きの電車は今朝一時間遅れて出発します。",
        "パスワードはアカウント設定のページからいつでも変更できます。",
        "私たちは海の近くの小さな村で夏休みを過ごしました。",
        "祖母は私たちが遊びに行くといつもおはぎを作ってくれました。",
        "その店が夜八時以降も開いているかどうか分かりません。",
        "医者に数日間休んで水をたくさん飲むように言われました。",
    ],
    "ko": [
        "부산행 기차가 오늘 아침 한 시간 늦게 출발합니다.",
        "계정 설정 페이지에서 언제든지 비밀번호를 변경할 수 있습니다.",
        "우리는 바닷가 근처의 작은 마을에서 여름 휴가를 보냈습니다.",
        "할머니는 우리가 찾아갈 때마다 항상 떡을 만들어 주셨어요.",
        "그 가게가 저녁 여덟 시 이후에도 문을 여는지 모르겠어요.",
        "의사는 며칠 동안 쉬면서 물을 많이 마시라고 했습니다.",
    ],
    "ar": [
        "سيغادر القطار المتجه إلى القاهرة صباح اليوم متأخرا ساعة واحدة.",
        "يمكنك تغيير كلمة المرور من صفحة إعدادات حسابك في أي وقت.",
        "قضينا العطلة الصيفية في قرية صغيرة بالقرب من البحر.",
        "كانت جدتي تعد الكعك دائما عندما كنا نزورها في العيد.",
        "لا أعرف إذا كان المتجر سيبقى مفتوحا بعد الساعة الثامنة مساء.",
        "نصحني الطبيب بالراحة لبضعة أيام وشرب الكثير من الماء.",
    ],
}


def test_accuracy_on_real_sentences() -> None:
    wrong = [
        (lang, text, detect(text))
        for lang, texts in SENTENCES.items()
        for text in texts
        if detect(text) != lang
    ]
    total = sum(map(len, SENTENCES.values()))
    assert len(wrong) <= 0.05 * total, wrong


def test_every_required_language_is_covered() -> None:
    required = {"en", "pl", "de", "fr", "es", "it", "pt", "nl", "ro", "ru", "uk", "kk"}
    required |= {"zh", "ja", "ko", "ar", "cs", "tr"}
    assert set(SENTENCES) == required
    assert required <= SUPPORTED
    for lang, texts in SENTENCES.items():
        assert len(texts) >= 5
        assert all(len(t.split()) >= 8 for t in texts if lang not in ("zh", "ja"))


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Κάθε πρωί πίνω καφέ στο μπαλκόνι μου.", "el"),
        ("הרכבת לתל אביב יוצאת בשעה שמונה בבוקר.", "he"),
        ("Влакът за Пловдив ще тръгне с един час закъснение, защото има ремонт.", "bg"),
        ("قطار تهران امروز صبح با یک ساعت تأخیر حرکت می‌کند و ما منتظر هستیم.", "fa"),
        ("ひらがなだけでかいたぶんです", "ja"),
    ],
)
def test_other_scripts(text: str, lang: str) -> None:
    assert detect(text) == lang


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "12345 !!! ???",
        "OK",
        "Hello there",  # two words, no distinctive letter
        "Ana Maria",
        "中",
        "Detta är en svensk mening om vädret och tågen idag.",  # a language we do not know
        "```python\nprint('the and of to in is that it')\n```",
    ],
)
def test_unclear_text_is_none(text: str) -> None:
    assert detect(text) is None


def test_short_text_with_distinctive_letters() -> None:
    assert detect("Dziękuję bardzo") == "pl"
    assert detect("Große Straße") == "de"
    assert detect("Иә, бұл өте жақсы") == "kk"


def test_code_and_urls_do_not_count_as_english() -> None:
    text = (
        "Aby zainstalować pakiet, uruchom polecenie `pip install requests` w terminalu.\n"
        "```bash\npip install requests --upgrade  # and then the tests for this module\n```\n"
        "Więcej informacji znajdziesz na https://docs.python-requests.org/en/latest/."
    )
    assert detect(text) == "pl"


def test_mixed_script_goes_by_the_majority() -> None:
    text = "这是一个关于机器学习的问题，我们需要使用 Python 和 PyTorch 来训练模型。"
    assert detect(text) == "zh"
    assert detect("Используйте функцию print, чтобы вывести результат на экран.") == "ru"


def test_dominant_language_needs_a_majority() -> None:
    pl, en, de = SENTENCES["pl"], SENTENCES["en"], SENTENCES["de"]
    assert dominant_language([*pl[:3], en[0], "ok"]) == "pl"
    assert dominant_language([pl[0], en[0], de[0]]) is None
    assert dominant_language([pl[0], pl[1], en[0], en[1]]) is None
    assert dominant_language(["ok", ""]) is None
    assert dominant_language(iter(SENTENCES["kk"])) == "kk"


def _ex(user: str, assistant: str) -> Example:
    return Example.from_pairs([("user", user), ("assistant", assistant)], system="Bądź miły.")


def test_filter_keeps_expected_language() -> None:
    keep = LanguageFilter("pl")
    assert keep(_ex(SENTENCES["pl"][0], SENTENCES["pl"][1])) is None


def test_filter_drops_wrong_assistant_language() -> None:
    drop = LanguageFilter("pl")(_ex(SENTENCES["pl"][0], SENTENCES["en"][1]))
    assert drop == Drop("wrong_language", "expected pl, got en (assistant)")


def test_filter_checks_user_turns_unless_told_not_to() -> None:
    example = _ex(SENTENCES["en"][0], SENTENCES["pl"][1])
    drop = LanguageFilter("pl")(example)
    assert drop is not None and drop.detail == "expected pl, got en (user)"
    assert LanguageFilter("pl", roles=("assistant",))(example) is None


def test_filter_is_lenient_when_unsure() -> None:
    assert LanguageFilter("pl")(_ex("OK?", "Tak.")) is None
    assert LanguageFilter("pl")(_ex("Hi", SENTENCES["pl"][2])) is None


def test_filter_ignores_the_system_prompt() -> None:
    ex = Example.from_pairs(
        [("user", SENTENCES["de"][0]), ("assistant", SENTENCES["de"][1])],
        system="You are a helpful assistant who always answers in German.",
    )
    assert LanguageFilter("de")(ex) is None


def test_filter_rejects_unknown_language() -> None:
    with pytest.raises(ConfigError, match="'xx'"):
        LanguageFilter("xx")


def test_text_typed_without_diacritics() -> None:
    assert (
        detect("Trenul pleaca maine dimineata si nu stiu daca ajung la timp pentru ca e trafic.")
        == "ro"
    )
    assert (
        detect("Nie wiem czy zdaze na pociag, bo jest duzy korek w miescie i wszystko stoi.")
        == "pl"
    )
