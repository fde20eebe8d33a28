"""Sessions and clients: [telegram.server] applied where they are made; one client factory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import rsa as rsa_keys
from telethon.crypto import AuthKey, rsa
from telethon.sessions import StringSession
from tg_fakes import Dials, World, fake_factory, make_config

from crawlers.telegram.client import connect_source, make_session, open_client, telethon_client
from crawlers.telegram.config import TEST_DC_HOST
from crawlers.telegram.errors import AccountError, TelegramConfigError, TelegramUnavailable


def test_a_new_session_starts_on_the_configured_server(tmp_path: Path) -> None:
    config = make_config(server={"host": "127.0.0.1", "port": 20443, "dc_id": 1})
    session = make_session(config, for_login=True)
    assert (session.dc_id, session.server_address, session.port) == (1, "127.0.0.1", 20443)
    file_config = make_config(session_file=str(tmp_path / "acct"), server={"host": "10.0.0.5", "port": 443})
    on_disk = make_session(file_config, for_login=True)
    assert (on_disk.dc_id, on_disk.server_address) == (2, "10.0.0.5")
    on_disk.close()


def test_test_mode_uses_telegrams_test_dc() -> None:
    session = make_session(make_config(server={"test_mode": True}), for_login=True)
    assert (session.dc_id, session.server_address, session.port) == (2, TEST_DC_HOST, 443)
    assert make_session(make_config(server={}), for_login=True).server_address is None  # production default


def test_a_session_with_an_auth_key_keeps_its_data_centre() -> None:
    stored = StringSession()
    stored.set_dc(4, "149.154.167.92", 443)  # where the account lives after a migration
    stored.auth_key = AuthKey(bytes(range(256)))
    config = make_config(session_string=stored.save(), server={"host": "127.0.0.1", "dc_id": 2})
    session = make_session(config)
    assert (session.dc_id, session.server_address) == (4, "149.154.167.92")


def test_the_configured_server_key_is_trusted(tmp_path: Path) -> None:
    public, _ = rsa_keys.newkeys(512)
    pem = tmp_path / "server.pem"
    pem.write_bytes(public.save_pkcs1())
    make_session(make_config(server={"host": "127.0.0.1", "rsa_public_key_file": str(pem)}), for_login=True)
    assert rsa._compute_fingerprint(public) in rsa._server_keys
    pem.write_text("not a key", encoding="utf-8")
    with pytest.raises(TelegramConfigError, match="rsa_public_key_file"):
        make_session(make_config(server={"rsa_public_key_file": str(pem)}), for_login=True)


def test_an_unreachable_server_is_telegram_unavailable(unused_port: int, dials: Dials, sleeps: list[float]) -> None:
    config = make_config(api_id=1, api_hash="x" * 32, server={"host": "127.0.0.1", "port": unused_port})
    with pytest.raises(TelegramUnavailable, match="unreachable"):
        asyncio.run(open_client(config, telethon_client, for_login=True))
    assert dials.addresses
    assert set(dials.addresses) == {("127.0.0.1", unused_port)}  # the configured server, nothing else


def test_the_factory_builds_the_client_inside_the_event_loop(world: World) -> None:
    """Telethon 1.39 binds a client to the loop it was built in: factories run on the reader's loop."""
    loops: list[asyncio.AbstractEventLoop] = []
    factory = fake_factory(world)

    def recording(config, session):  # type: ignore[no-untyped-def]
        loops.append(asyncio.get_running_loop())
        return factory(config, session)

    world.authorized = True
    config = make_config(session_string=_stored())
    source = asyncio.run(connect_source(config, recording))
    assert len(loops) == 1
    assert source.account_id == world.account
    world.authorized = False
    with pytest.raises(AccountError, match="AUTH_KEY_UNREGISTERED"):
        asyncio.run(connect_source(config, factory))


def _stored() -> str:
    session = StringSession()
    session.set_dc(2, "127.0.0.1", 443)
    session.auth_key = AuthKey(bytes(range(256)))
    return str(session.save())
