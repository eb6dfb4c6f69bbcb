"""SIP parsing against what real peers send (Kamailio-relayed baresip INVITEs included)."""

from __future__ import annotations

import pytest

from telephony.sip import digest, sdp
from telephony.sip.message import NameAddr, SipMessage, SipParseError, SipUri, split_commas
from telephony.sip.ua import caller_number

# Shaped like baresip's INVITE after Kamailio added its Via and Record-Route; note the headers
# without a space after the colon and the compact forms (what broke pyVoIP).
RELAYED_INVITE = (
    "INVITE sip:bot@127.0.0.1:5070 SIP/2.0\r\n"
    "Record-Route: <sip:127.0.0.1:5060;lr=on>\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKcydzigwkX\r\n"
    "v:SIP/2.0/UDP 127.0.0.1:40000;received=127.0.0.1;branch=z9hG4bK1a2b3c;rport=40000\r\n"
    "Max-Forwards:69\r\n"
    "To:<sip:bot@127.0.0.1:5060>\r\n"
    'f: "Citizen" <sip:13805150000@127.0.0.1>;tag=abc123\r\n'
    "i:7f2c9d@127.0.0.1\r\n"
    "CSeq:  2 INVITE\r\n"
    "m:<sip:13805150000@127.0.0.1:40000;transport=udp>\r\n"
    "User-Agent: baresip v1.0.0\r\n"
    "Allow: INVITE,ACK,BYE,CANCEL,\r\n"
    " OPTIONS,INFO\r\n"
    "c:application/sdp\r\n"
    "l:{length}\r\n"
    "\r\n"
)
OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40002 RTP/AVP 9 8 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
)


def relayed_invite(body: str = OFFER) -> SipMessage:
    data = RELAYED_INVITE.format(length=len(body.encode())) + body
    return SipMessage.parse(data.encode() + b"garbage after content-length")


def test_parses_relayed_invite_with_compact_headers_and_no_spaces() -> None:
    msg = relayed_invite()
    assert msg.method == "INVITE" and msg.uri == "sip:bot@127.0.0.1:5070"
    assert msg.call_id == "7f2c9d@127.0.0.1"
    assert msg.cseq == (2, "INVITE")
    assert msg.from_.tag == "abc123" and msg.from_.display == "Citizen"
    assert msg.to.tag is None
    assert len(msg.get_all("Via")) == 2 and msg.branch == "z9hG4bKcydzigwkX"
    assert msg.get("Allow") == "INVITE,ACK,BYE,CANCEL, OPTIONS,INFO"  # folded line joined
    assert msg.get("content-type") == "application/sdp"
    assert msg.body == OFFER.encode()  # Content-Length honoured, trailing bytes dropped
    assert caller_number(msg) == "13805150000"


def test_response_copies_vias_record_route_and_adds_to_tag() -> None:
    msg = relayed_invite()
    resp = msg.response(200, to_tag="srv1")
    raw = resp.to_bytes().decode()
    assert raw.startswith("SIP/2.0 200 OK\r\n")
    assert resp.get_all("Via") == msg.get_all("Via")
    assert resp.get_all("Record-Route") == ["<sip:127.0.0.1:5060;lr=on>"]
    assert resp.to.tag == "srv1"
    assert "Content-Length: 0\r\n\r\n" in raw
    again = SipMessage.parse(resp.to_bytes())
    assert again.status == 200 and again.cseq == (2, "INVITE")
    assert msg.response(100).to.tag is None  # 100 Trying never carries a tag


def test_lf_only_and_multi_value_headers() -> None:
    data = (
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP a:1;branch=z9hG4bK1, SIP/2.0/UDP b:2;branch=z9hG4bK2\n"
        'From: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 7 REGISTER\n'
        'Contact: <sip:bot@127.0.0.1:5070>;expires=120, "A, B" <sip:other@h>\nContent-Length: 0\n\n'
    )
    msg = SipMessage.parse(data.encode())
    assert msg.status == 200 and len(msg.get_all("Via")) == 2
    assert [NameAddr.parse(c).uri for c in msg.get_all("Contact")] == ["sip:bot@127.0.0.1:5070", "sip:other@h"]
    assert NameAddr.parse(msg.get_all("Contact")[0]).params["expires"] == "120"


@pytest.mark.parametrize("bad", [
    b"",
    b"INVITE sip:a@b\r\n\r\n",
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n",  # no From/To/Call-ID/CSeq
    b"SIP/2.0 abc OK\r\n\r\n",
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\n"
    b"CSeq: 1 INVITE\r\nContent-Length: 500\r\n\r\nshort",
])
def test_rejects_malformed(bad: bytes) -> None:
    with pytest.raises(SipParseError):
        SipMessage.parse(bad)


def test_uri_and_name_addr() -> None:
    uri = SipUri.parse("sip:bot:secret@[::1]:5070;transport=udp;lr")
    assert (uri.user, uri.host, uri.port, uri.params) == ("bot", "[::1]", 5070, {"transport": "udp", "lr": ""})
    assert str(SipUri.parse("sip:127.0.0.1:5060;lr")) == "sip:127.0.0.1:5060;lr"
    na = NameAddr.parse("sip:13805150000@pbx;tag=9")  # addr-spec: the tag belongs to the header
    assert na.uri == "sip:13805150000@pbx" and na.tag == "9"
    assert split_commas('"a,b" <sip:x>, <sip:y;p=1,2>') == ['"a,b" <sip:x>', "<sip:y;p=1,2>"]


def test_caller_number_prefers_p_asserted_identity() -> None:
    msg = relayed_invite()
    msg.add("P-Asserted-Identity", "<tel:051588881234>")
    assert caller_number(msg) == "051588881234"


def test_sdp_offer_answer() -> None:
    offer = sdp.parse(OFFER.encode())
    assert (offer.address, offer.port) == ("127.0.0.1", 40002)
    assert offer.codec() == 8  # the caller's first G.711 preference, G722 skipped
    assert offer.telephone_event() == 101
    answer = sdp.parse(sdp.build(address="127.0.0.1", port=30000, codecs=[8], telephone_event=101))
    assert answer.payload_types == [8, 101] and answer.port == 30000
    assert sdp.parse(OFFER.replace("9 8 0 101", "9 101").encode()).codec() is None
    with pytest.raises(sdp.SdpError):
        sdp.parse(b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5000 RTP/AVP 96\r\n")
    static_only = sdp.parse(b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n")
    assert static_only.codec() == 0 and static_only.telephone_event() is None
    assert sdp.answer_direction("sendonly") == "recvonly"


def test_digest_rfc2617_vector() -> None:
    # RFC 2617 §3.5: Mufasa / Circle Of Life
    challenge = digest.parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = digest.authorization(challenge=challenge, method="GET", uri="/dir/index.html", username="Mufasa",
                                  password="Circle Of Life", cnonce="0a4f113b", nc=1)
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert "qop=auth" in header and "nc=00000001" in header and 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header
    plain = digest.authorization(challenge={"realm": "r", "nonce": "n"}, method="REGISTER", uri="sip:h",
                                 username="u", password="p")
    assert "qop" not in plain
