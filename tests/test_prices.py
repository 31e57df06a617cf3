"""Prices: deal values, offers and valuations of the target as whole US dollars; never other amounts."""
from __future__ import annotations

from datetime import date

from dealwatch.facts.prices import amounts, extract_prices
from helpers_judgment import article, profile


def prices(text: str, lang: str = "en") -> set[str]:
    return {f.value for f in extract_prices(article(text, lang=lang, published=date(2020, 8, 27)), profile())}


def test_en_range_to():
    text = "Bids for TikTok's U.S. business are expected in the range of $20 billion to $30 billion."
    assert prices(text) == {"USD 20000000000-30000000000"}


def test_en_single_offer():
    assert prices("The consortium has offered $20 billion in cash for TikTok's U.S. operations.") == {
        "USD 20000000000-20000000000"}


def test_en_bn_abbreviation_and_decimal():
    assert prices("Oracle's offer values TikTok U.S. at $12.5bn, people said.") == {"USD 12500000000-12500000000"}


def test_en_hyphen_range_shared_unit():
    assert prices("TikTok's U.S. arm could fetch a price of $40-50 billion in a sale.") == {
        "USD 40000000000-50000000000"}


def test_de_bis_range_milliarden_dollar():
    text = "Das US-Geschäft von Tiktok könnte einen Preis von 20 bis 30 Milliarden Dollar erzielen."
    assert prices(text, "de") == {"USD 20000000000-30000000000"}


def test_de_rund_milliarden_dollar_valuation():
    text = "Insider bezifferten den Wert von Tiktok Global auf rund 60 Milliarden Dollar."
    assert prices(text, "de") == {"USD 60000000000-60000000000"}


def test_de_mrd_us_dollar_decimal_comma():
    text = "Das Gebot für Tiktok soll bei 12,5 Mrd. US-Dollar liegen."
    assert prices(text, "de") == {"USD 12500000000-12500000000"}


def test_de_billionen_is_trillion():
    [(_, _, low, high, cur, _)] = amounts("ein Wert von 1,2 Billionen Dollar", german=True)
    assert low == high == 1.2e12 and cur == "USD"


def test_euro_amounts_are_not_reported():
    text = "Das Angebot für Tiktok soll 18 Milliarden Euro betragen."
    assert prices(text, "de") == set()


def test_en_market_value_of_bidder_is_not_a_price():
    text = "With a market value of about $29 billion, Twitter would need outside investors to finance a TikTok purchase."
    assert prices(text) == set()


def test_en_funding_round_valuation_is_not_a_price():
    text = "The startup was valued at $9 billion in a funding round last month, a fraction of what TikTok is worth."
    assert prices(text) == set()


def test_de_bildungsfonds_is_not_a_price():
    text = "Trump kündigte an, die Beteiligten würden einen Bildungsfonds mit fünf Milliarden Dollar für Tiktok ausstatten."
    assert prices(text, "de") == set()


def test_de_past_other_deal_with_year_is_not_a_price():
    text = "ByteDance hatte Musical.ly 2017 für rund eine Milliarde Dollar gekauft und in Tiktok aufgehen lassen."
    assert prices(text, "de") == set()


def test_en_fine_is_not_a_price():
    text = "The regulator fined TikTok $600 million, a penalty ByteDance said it would appeal before any sale."
    assert prices(text) == set()


def test_de_aid_package_is_not_a_price():
    text = "Die Tiktok-Regelung ist Teil eines Pakets über rund 95 Milliarden Dollar."
    assert prices(text, "de") == set()


def test_en_per_user_penalty_is_not_a_price():
    assert prices("The law sets penalties of up to $5,000 per user for app stores that keep TikTok.") == set()


def test_price_fact_detail_has_low_high_and_expression():
    [fact] = extract_prices(article("Vance bezifferte den Wert des Tiktok-Geschäfts auf rund 14 Milliarden Dollar.",
                                    lang="de"), profile())
    assert fact.detail["low"] == fact.detail["high"] == 14_000_000_000
    assert fact.detail["expression"] == "14 Milliarden Dollar" and fact.detail["currency"] == "USD"


def test_en_worth_range_with_dollar_signs_both_ends():
    assert prices("TikTok's U.S. business could be worth $40 billion-$50 billion in a sale.") == {
        "USD 40000000000-50000000000"}


def test_en_between_and():
    assert prices("ByteDance wants between $30 billion and $40 billion for TikTok's U.S. operations.") == {
        "USD 30000000000-40000000000"}


def test_de_dollar_sign_after_number():
    assert prices("Das Angebot für Tiktok liegt bei 25 Mrd. $.", "de") == {"USD 25000000000-25000000000"}


def test_seller_own_valuation_is_not_a_price():
    assert prices("ByteDance selbst wird mit mehr als 300 Milliarden Dollar bewertet.", "de") == set()


def test_en_hyphenated_amount():
    assert prices("Oracle made a $50-billion offer for TikTok's U.S. business.") == {"USD 50000000000-50000000000"}


# --- generalisation cases (held-out styles) --------------------------------------------------------------

def test_en_valued_at_roughly_bn():
    assert prices("The offer values TikTok's U.S. business at roughly $35bn, the people said.") == {
        "USD 35000000000-35000000000"}


def test_en_between_and_billion_shared_unit():
    assert prices("Estimates for TikTok's U.S. business range between $40 and $50 billion.") == {
        "USD 40000000000-50000000000"}


def test_de_gebot_in_hoehe_von_mrd_dollar():
    assert prices("Oracle soll ein Gebot in Höhe von 30 Mrd. Dollar für Tiktok vorgelegt haben.", "de") == {
        "USD 30000000000-30000000000"}


def test_de_bietet_rund_milliarden_us_dollar():
    assert prices("Oracle bietet rund 25 Milliarden US-Dollar für das US-Geschäft von Tiktok.", "de") == {
        "USD 25000000000-25000000000"}


def test_en_deal_value_and_analyst_range_both_reported():
    assert prices("The proposed deal values TikTok U.S. at about $14 billion, well below analysts' estimates of "
                  "$35 billion to $40 billion.") == {"USD 14000000000-14000000000", "USD 35000000000-40000000000"}


def test_de_konjunktiv_bewerte_rund_milliarden():
    assert prices("Das Angebot für Tiktok bewerte das US-Geschäft mit rund 14 Milliarden Dollar.", "de") == {
        "USD 14000000000-14000000000"}


def test_en_plural_bids_value_the_business():
    assert prices("Bids are said to value the business at more than $20 billion.") == {"USD 20000000000-20000000000"}


def test_de_seller_own_valuation_is_not_a_price():
    assert prices("ByteDance selbst wird mit mehr als 300 Milliarden Dollar bewertet.", "de") == set()


def test_de_kaufpreis_zwischen_und_milliarden():
    assert prices("Der Kaufpreis dürfte nach Schätzungen von Analysten zwischen 30 und 40 Milliarden Dollar liegen.",
                  "de") == {"USD 30000000000-40000000000"}


def test_en_bidders_would_pay_range_and_price_tag():
    assert prices("Analysts put a price tag of $50 billion on TikTok's U.S. business. Without it, bidders such as "
                  "Oracle would pay far less, perhaps $20 billion to $25 billion.") == {
        "USD 50000000000-50000000000", "USD 20000000000-25000000000"}


def test_the_sentences_with_currency_marks_are_those_each_sentences_test_finds():
    import html
    import re
    from pathlib import Path

    from dealwatch.facts.prices import _CURRENCY_MARKS, _with_currency_marks
    from dealwatch.facts.text import split_sentences
    from dealwatch.patterns import text_index
    sentences = []
    for page in sorted((Path(__file__).resolve().parent / "fixtures" / "heldout" / "articles").glob("*.html")):
        sentences += split_sentences(html.unescape(re.sub(r"<[^>]+>", "\n", page.read_text(encoding="utf-8"))))
    sentences += ["$5", "USD", "5 €", "Euro", "EUR 5", "US-Dollar", "DOLLARS", "no mark", "", "$"]
    found = 0
    for size in (1, 3, 17, len(sentences)):
        for i in range(0, len(sentences), size):
            group = tuple(sentences[i:i + size])
            each = [s for s in group if any(mark in text_index(s).folded for mark in _CURRENCY_MARKS)]
            assert _with_currency_marks(group) == each, group
            found += len(each)
    assert found >= 20


def test_the_amounts_tried_where_a_number_begins_match_as_a_search_of_every_character():
    import html
    import re
    from pathlib import Path

    from dealwatch.facts import prices as p
    from dealwatch.facts.text import split_sentences
    sentences = []
    for page in sorted((Path(__file__).resolve().parent / "fixtures" / "heldout" / "articles").glob("*.html")):
        sentences += split_sentences(html.unescape(re.sub(r"<[^>]+>", "\n", page.read_text(encoding="utf-8"))))
    edges = ["\u0661\u0662 billion dollars", "x5 billion dollars", "1.5,20 bn USD", "eine Milliarde Dollar",
             "ZWANZIG Milliarden Euro", "20 bis 30 Milliarden Dollar", "keine 5 Mio. US-Dollar", "20-30bn $",
             "one hundred million dollars", "fünfzig  Millionen US$", ",5 billion dollars", "2,000,000 million USD"]
    found = 0
    for s in sentences + edges + [" ".join(edges)]:
        for rx in (p.RANGE_AFTER, p.SINGLE_AFTER):
            spans = [(m.span(), m.groupdict()) for m in rx.rx.finditer(s)]
            assert [(m.span(), m.groupdict()) for m in rx.finditer(s)] == spans, (rx.pattern[:40], s)
            found += len(spans)
    assert found >= 15
