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


def test_prelowered_headers_are_used_as_they_are():
    from everynode.client.local import _Headers

    base = _Headers({"Accept": "application/json", "Authorization": "Bearer t"})
    h = _Headers.lowered(base)
    h["content-type"] = "application/yaml"
    r = LocalRequest("PUT", "/api/v1/namespaces/a/pods/p", {}, h, b"x")
    assert r.headers is h and type(r.headers) is _Headers
    assert r.headers.get("Content-Type") == "application/yaml" and r.headers["ACCEPT"] == "application/json"
    assert "content-type" not in base  # the copy is the request's own


def test_read_body_takes_the_local_body_and_keeps_the_size_limit():
    import asyncio

    import pytest

    from everynode.api.errors import ApiError
    from everynode.apiserver import decode

    def read(body):
        return asyncio.run(decode.read_body(LocalRequest("PUT", "/x", {}, {}, body)))

    assert read(b'{"a":1}') == b'{"a":1}'
    assert read(b"") == b""
    assert read(b" " * decode.MAX_BODY) == b" " * decode.MAX_BODY
    with pytest.raises(ApiError) as exc:
        read(b" " * (decode.MAX_BODY + 1))
    assert exc.value.code == 413


def test_the_token_check_remembers_only_the_exact_header_it_accepted(tmp_path):
    import asyncio

    from everynode.apiserver.app import ApiServer
    from everynode.storage.sqlite import SqliteStore

    async def go():
        store = SqliteStore(tmp_path / "db")
        await store.start()
        server = ApiServer(store, "secret")
        good = "Bearer " + "".join(["sec", "ret"])  # a str object of its own
        try:
            results = []
            for auth in (good, good, "Bearer secreT", "Bearer secret ", "Bearer ", "", "Basic secret"):
                r = LocalRequest("GET", "/api/v1/namespaces", {}, {"Authorization": auth}, b"")
                results.append((await server.handle(r)).status)
            return results
        finally:
            await store.close()

    # A wrong token after an accepted one is still refused; an equal string passes the full check.
    assert asyncio.run(go()) == [200, 200, 401, 200, 401, 401, 401]
