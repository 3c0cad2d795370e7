"""Every page, every query parameter and every form field, sent what an attacker or a broken
client sends: NUL, bytes that are no UTF-8, numbers past any column, impossible dates, long
strings. The answer may be a refusal, never a server error (on PostgreSQL, NUL used to make 67
of 5,462 such requests answer 500).

The pages come from ``app.url_map``; the forms and their fields from the pages themselves, as a
browser sees them."""

from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

from tests.conftest import page_paths

# What each value stands for, sent raw in forms and percent-encoded in query strings.
NASTY = {
    "nul": "a\x00b",
    "huge": "9" * 25,
    "negative": "-1",
    "date": "2024-02-30",
    "long": "长" * 3000,
    "markup": '"><script>alert(1)</script>',
}
# Bytes that are no UTF-8 (a lone surrogate, a stray continuation byte): only a query string
# can carry them as they are.
RAW_QUERY = ["%ED%A0%80", "%FF%FE", "%00"]
QUERY_NAMES = ["page", "per_page", "sort", "status", "unit", "year", "category", "owner", "overdue", "open", "mine",
               "report", "closed", "day", "channel", "recipient", "before", "next", "inline", "q", "user", "address"]
SKIP_FORMS = {"/logout"}  # signing out would end the fuzzing session; it has its own tests


class Forms(HTMLParser):
    """The POST forms of a page: their action and their fields with the values a browser sends."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(), "fields": {}}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                self._form["fields"].setdefault(a["name"], None)
            elif kind != "file":
                self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["fields"].setdefault(a["name"], None)
        elif tag == "option" and self._select and self._form["fields"].get(self._select) is None:
            self._form["fields"][self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"][a["name"]] = ""

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def page_forms(html: str, path: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    for form in parser.forms:
        form["action"] = urlsplit(form["action"]).path or path
        form["fields"] = {k: v for k, v in form["fields"].items() if v is not None}
    return parser.forms


def _fuzz(client, paths: list[str]) -> list[str]:
    failures = []

    def check(response, what):
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {what}")

    for path in paths:
        page = client.get(path)
        check(page, f"GET {path}")
        for value in [quote(v) for v in NASTY.values()] + RAW_QUERY:  # every parameter at once, per value
            query = "&".join(f"{name}={value}" for name in QUERY_NAMES)
            check(client.get(f"{path}?{query}"), f"GET {path}?…={value[:20]}")
        if page.status_code != 200 or page.mimetype != "text/html":
            continue
        for form in page_forms(page.get_data(as_text=True), path):
            if form["method"] != "post" or form["action"] in SKIP_FORMS:
                continue
            fields = form["fields"]
            names = [f for f in fields if f != "csrf_token"]
            for label in ("nul", "markup"):  # every field at once
                sent = {**fields, **dict.fromkeys(names, NASTY[label])}
                check(client.post(form["action"], data=sent), f"POST {form['action']} *={label}")
            for field in names:  # one field at a time, for the values a parser chokes on
                for label in ("huge", "negative", "date", "long"):
                    sent = {**fields, field: NASTY[label]}
                    check(client.post(form["action"], data=sent), f"POST {form['action']} {field}={label}")
    return failures


def test_no_page_or_form_answers_500_to_hostile_input_as_admin(app, org, world, login):
    failures = _fuzz(login(org.admin), page_paths(app, world))
    assert failures == []


def test_no_page_or_form_answers_500_to_hostile_input_as_an_official(app, org, world, login):
    failures = _fuzz(login(org.off_a), page_paths(app, world))
    assert failures == []


def test_sign_in_page_with_nul_is_refused_plainly(client, org):
    client._refresh_token()
    for value in NASTY.values():
        answer = client.post("/login", data={"username": value, "password": value})
        assert answer.status_code < 500
    refused = client.post("/login", data={"username": "off\x00a", "password": "x"})
    assert refused.status_code == 400
    assert "无法保存的字符" in refused.get_data(as_text=True)


def test_anonymous_pages_take_hostile_query_strings(app, client, world):
    failures = _fuzz(client, ["/login"])
    assert failures == []
