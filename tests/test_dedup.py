"""Near-duplicate detection (dealwatch.dedup), on the text of two articles of our dev corpus."""
from __future__ import annotations

from dealwatch.dedup import (
    NEAR_DUPLICATE_DISTANCE,
    content_hash,
    hamming,
    is_near_duplicate,
    normalize_text,
    text_fingerprint,
)

# shared/corpus/dev/articles/walmart-joins-microsoft.html, body paragraphs
WALMART = [
    "Walmart Inc (WMT.N) said on Thursday it has teamed up with Microsoft Corp (MSFT.O) to bid for TikTok’s U.S. "
    "operations, as the world’s largest retailer looks to the Chinese-owned video app to expand its online "
    "advertising and e-commerce businesses.",
    "In a statement, Walmart said TikTok’s integration of e-commerce and advertising in other markets was a clear "
    "benefit to creators and users, and that a relationship with TikTok U.S. in partnership with Microsoft could "
    "give the retailer an important way to reach omnichannel customers and grow its third-party marketplace and "
    "advertising businesses.",
    "The move adds a large consumer brand to Microsoft’s offer, which is competing with a rival bid from Oracle "
    "Corp (ORCL.N). People familiar with the matter said ByteDance could announce a decision as soon as next "
    "week, with bids for TikTok’s business in the United States, Canada, Australia and New Zealand expected in "
    "the range of $20 billion to $30 billion.",
    "Before aligning with Microsoft, Walmart had held discussions with a group organised by SoftBank Group Corp, "
    "which explored a bid of its own, according to one of the people. Those discussions did not advance.",
    "For Walmart, the bet is about competition as much as video. The Bentonville, Arkansas-based company has "
    "spent heavily over the past five years trying to narrow the gap with Amazon.com Inc in online shopping, and "
    "has been looking for ways to build an advertising business that can match the one Amazon has built around "
    "its marketplace. TikTok’s young audience and its experiments with in-app shopping in Asia could help on "
    "both fronts, analysts said.",
    "“Walmart doesn’t need a social network, it needs attention,” said Priya Natarajan, a retail analyst at "
    "Halden Partners. “TikTok is where the attention of shoppers under 30 is.”",
    "The announcement came hours after TikTok Chief Executive Kevin Mayer said he was stepping down, only about "
    "three months after joining from Walt Disney Co. In a letter to staff, Mayer said the political environment "
    "had changed sharply and that he had reflected on what the required structural changes would mean for the "
    "global role he had signed up for.",
    "ByteDance is working against two dates set by President Donald Trump. Trump has said the app will be shut "
    "down in the United States if no deal is reached by Sept. 15, and a separate Aug. 14 order gives ByteDance "
    "90 days to divest its U.S. assets and data. TikTok on Monday sued the administration over an earlier "
    "executive order, arguing it had been denied due process.",
    "Microsoft declined to comment on Walmart’s announcement. Oracle did not respond to a request for comment. "
    "Walmart shares rose about 5% in afternoon trading.",
]

# shared/corpus/dev/articles/mnuchin-investor-group.html: another article on the same story
MNUCHIN = [
    "Steven Mnuchin wants to buy TikTok. The former Treasury Secretary, who now runs the private equity firm "
    "Liberty Strategic Capital, said on Thursday that he is building a group of investors to acquire the "
    "short-video app if its Chinese owner, ByteDance, is forced to sell.",
    "In an interview with CNBC, Mnuchin said he thought the legislation should pass and that the app should be "
    "sold, calling it a great business. He said he had been talking to potential partners but declined to name "
    "them.",
    "His comments came a day after the House of Representatives voted 352-65 to pass a bill that would require "
    "ByteDance to divest TikTok or see the app removed from U.S. app stores and web-hosting services. The "
    "measure now heads to the Senate, where its prospects are less certain. President Joe Biden has said he "
    "would sign it if it reaches his desk.",
    "Mnuchin said the main obstacle would be technology rather than money. The app’s recommendation engine, "
    "which ByteDance owns and which is widely seen as the secret of its success, would probably not be part of "
    "any deal, he said, so the technology would have to be rebuilt in the United States. He said he believed "
    "that could be done.",
    "That is a big if. Beijing has signalled that it would not allow the algorithm to be exported, and China’s "
    "commerce ministry said on Thursday that it would take all necessary measures to protect its legitimate "
    "rights and interests.",
    "The bill’s supporters argue that TikTok’s ownership gives the Chinese government potential access to data "
    "on the app’s roughly 170 million American users and a lever over what they see. TikTok denies that.",
    "ByteDance has not said whether it would consider a sale. TikTok did not respond to a request for comment "
    "on Mnuchin’s remarks.",
]

ORIGINAL = "NEW YORK, Aug 27 (MarketWire) - " + "\n\n".join(WALMART) + \
    "\n\nReporting by Daniel Okafor and Sarah Lindqvist; Editing by Jonathan Sloane"
AGENCY_COPY = "NEW YORK (Newswire Agency) -- " + "\n\n".join(WALMART) + \
    "\n\nThis story was distributed by a news agency and has not been edited by our staff."


def test_agency_copy_with_other_header_and_footer_is_near():
    a, b = text_fingerprint(ORIGINAL), text_fingerprint(AGENCY_COPY)
    assert a != b
    assert hamming(a, b) <= NEAR_DUPLICATE_DISTANCE
    assert is_near_duplicate(a, b)


def test_dateline_or_credit_line_alone_stays_within_three_bits():
    body = "\n\n".join(WALMART)
    fp = text_fingerprint(body)
    assert is_near_duplicate(fp, text_fingerprint("WASHINGTON (Newswire) - " + body), max_distance=3)
    assert is_near_duplicate(fp, text_fingerprint(body + " (Reporting by Jane Roe)"), max_distance=3)
    assert content_hash(ORIGINAL) != content_hash(AGENCY_COPY)


def test_two_articles_on_the_same_story_are_not_near():
    a, b = text_fingerprint(ORIGINAL), text_fingerprint("\n\n".join(MNUCHIN))
    assert hamming(a, b) > NEAR_DUPLICATE_DISTANCE + 5
    assert not is_near_duplicate(a, b)


def test_content_hash_ignores_case_spacing_and_punctuation_only():
    text = "\n\n".join(WALMART)
    assert content_hash(text) == content_hash("  " + text.upper().replace(". ", ".\n   ") + " ")
    assert content_hash(text) != content_hash(text.replace("Thursday", "Friday"))
    assert len(content_hash(text)) == 64


def test_fingerprint_is_stable_64_bit_and_handles_edge_cases():
    fp = text_fingerprint(ORIGINAL)
    assert fp == text_fingerprint(ORIGINAL)           # deterministic across calls (no hash randomisation)
    assert 0 <= fp < 2 ** 64
    assert text_fingerprint("") == 0 == text_fingerprint(" ... ")
    assert text_fingerprint("one two") != 0           # shorter than a shingle still has a fingerprint
    assert hamming(fp, fp) == 0 and hamming(0, 2 ** 64 - 1) == 64
    assert normalize_text("Ｔｉｋ-Tok’s  DEAL!") == "tik tok s deal"


def test_fingerprints_and_hashes_keep_their_stored_values():
    """The warehouse keeps both and compares new pages with stored ones: a faster implementation must give
    the same values bit for bit (these were computed by the first, plain one: blake2b of " ".join(shingle))."""
    assert text_fingerprint(ORIGINAL) == 0xCACFD7F2126778E5
    assert text_fingerprint(AGENCY_COPY) == 0xEACFD7B202677CE5
    assert text_fingerprint("one two") == 0x07CB8D1AE909EC5D
    assert text_fingerprint("Tik Tok deal, Oracle bid", 1) == 0x3EA9B755844640F1
    assert content_hash(ORIGINAL) == "0566ba202b0cd9d48de98793feaa0487934ae5226f92c7a81c30112975127dd7"


def test_fingerprint_without_numpy_is_the_same(monkeypatch):
    import dealwatch.dedup as dedup
    texts = [ORIGINAL, AGENCY_COPY, "\n\n".join(MNUCHIN), "one two", "ünïcödé straße ß"]
    with_numpy = [text_fingerprint(t) for t in texts]
    monkeypatch.setattr(dedup, "_np", None)
    assert [text_fingerprint(t) for t in texts] == with_numpy


def test_normalisation_cache_returns_what_the_text_gives():
    assert normalize_text("Oracle BID!") == "oracle bid"
    assert normalize_text("Walmart bid.") == "walmart bid"
    assert normalize_text("Oracle BID!") == "oracle bid"   # cached: still the value of this text
    assert content_hash(None) == content_hash("")
