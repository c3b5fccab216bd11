"""The in-process request the embedded components hand to the API server's handler."""

from everynode.client.local import LocalRequest


def req(query=None, headers=None):
    return LocalRequest("GET", "/api/v1/pods", query or {}, headers or {}, b"")


def test_headers_read_case_insensitively():
    r = req(headers={"Content-Type": "application/json", "authorization": "Bearer t"})
    assert r.headers.get("content-type") == "application/json"
    assert r.headers.get("Authorization") == "Bearer t"
    assert r.headers["AUTHORIZATION"] == "Bearer t"
    assert "Content-Type" in r.headers and "Accept" not in r.headers
    assert r.headers.get("Accept") is None and r.headers.get("Accept", "*/*") == "*/*"


def test_query_get_and_getall():
    r = req(query={"dryRun": "All", "limit": "5"})
    assert r.query.get("limit") == "5"
    assert r.query.getall("dryRun", []) == ["All"]
    assert r.query.getall("fieldManager", []) == []
    assert dict(r.query.items()) == {"dryRun": "All", "limit": "5"}
