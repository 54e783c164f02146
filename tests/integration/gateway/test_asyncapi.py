"""The AsyncAPI document is served as YAML and as JSON."""

import yaml


async def test_the_asyncapi_document_is_served(http):
    r = await http.get("/asyncapi.yaml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/yaml")
    document = yaml.safe_load(r.text)
    assert document["asyncapi"].startswith("3.") and document["channels"]["notifications"]["address"] == "linkage.notifications"
    assert (await http.get("/asyncapi.json")).json() == document
