"""Polls: a shop asks its community to choose (a flavour, a colour, a name) among pictured
options; one vote per person; the result is announced in the followers' feeds. Wired at
start-up by `social.polls.wiring`, which social's init_app calls."""
