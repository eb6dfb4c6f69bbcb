"""A small SIP stack over UDP: messages, SDP, digest auth and the user agent."""
