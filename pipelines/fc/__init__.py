"""FC control-plane client: signing, errors, wire models, paging and the async client."""
