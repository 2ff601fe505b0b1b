import pytest

from synthgen.errors import TemplateError
from synthgen.prompts.templates import list_templates, load_template

EX = [
    {
        "messages": [
            {"role": "user", "content": "Mama, ja {{ 7*7 }}"},
            {"role": "assistant", "content": "Mamo."},
        ]
    }
]


def test_builtin_expand_renders_roles_and_examples():
    t = load_template("expand")
    msgs = t.render(examples=EX, n=4, system="Popraw gramatykę zdania.", category="x")
    assert [m["role"] for m in msgs] == ["system", "user"]
    user = msgs[1]["content"]
    assert "exactly 4" in user and "Popraw gramatykę zdania." in user and 'category "x"' in user
    assert "{{ 7*7 }}" in user and "49" not in user  # seeds are data, never evaluated


def test_list_has_expand():
    assert "expand" in [t.name for t in list_templates()]


def test_unknown_template():
    with pytest.raises(TemplateError, match="unknown template 'nope'"):
        load_template("nope")


def test_syntax_error_names_file_and_line(tmp_path):
    p = tmp_path / "bad.j2"
    p.write_text("---\ntemperature: 0.5\n---\n<|user|>\nline\n{% for x in %}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"bad.j2:6: template syntax error"):
        load_template(str(p))


def test_user_template_front_matter(tmp_path):
    p = tmp_path / "mine.j2"
    p.write_text(
        "---\ntemperature: 0.3\nper_request: 2\nshots: 1\n---\n"
        "<|user|>\n{{ n }} {{ examples|length }}\n"
    )
    t = load_template(p)
    assert (t.temperature, t.per_request, t.shots) == (0.3, 2, 1)
    assert t.render(examples=EX, n=2, system=None, category=None) == [
        {"role": "user", "content": "2 1"}
    ]


def test_sandbox_blocks_attribute_escape(tmp_path):
    p = tmp_path / "evil.j2"
    p.write_text("<|user|>\n{{ ''.__class__.__mro__ }}\n")
    with pytest.raises(TemplateError):
        load_template(p).render(examples=[], n=1, system=None, category=None)


def test_missing_variable_is_an_error(tmp_path):
    p = tmp_path / "t.j2"
    p.write_text("<|user|>\n{{ nothing_here }}\n")
    with pytest.raises(TemplateError, match="cannot render"):
        load_template(p).render(examples=[], n=1)


def test_reply_kind_is_declared_and_checked(tmp_path):
    from synthgen.prompts.reply import response_format_for

    assert load_template("expand").reply == "conversations"
    p = tmp_path / "loose.j2"
    p.write_text("---\nreply: json_object\n---\n<|user|>\nhi\n")
    assert load_template(p).reply == "json_object"
    assert response_format_for("json_object") == {"type": "json_object"}
    assert response_format_for("none") is None
    bad = tmp_path / "bad.j2"
    bad.write_text("---\nreply: yaml\n---\n<|user|>\nhi\n")
    with pytest.raises(TemplateError, match="reply must be one of"):
        load_template(bad)


def test_user_template_folder_by_name(tmp_path, monkeypatch):
    (tmp_path / "mine.j2").write_text(
        "---\ndescription: my own\nper_request: 2\n---\n<|user|>\n{{ n }}\n"
    )
    monkeypatch.setenv("SYNTHGEN_TEMPLATE_DIR", str(tmp_path))
    t = load_template("mine")
    assert t.per_request == 2 and t.description == "my own"
    names = [t.name for t in list_templates()]
    assert "mine" in names and "expand" in names
