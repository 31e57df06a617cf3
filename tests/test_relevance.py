"""Relevance: the sale of TikTok, not TikTok news, other deals, other apps' bans or roundups."""
from __future__ import annotations

from datetime import date

from dealwatch.relevance import classify
from helpers_judgment import article, profile


def rel(text: str, title: str = "", lang: str = "en"):
    return classify(article(text, lang=lang, title=title, published=date(2025, 4, 3)), profile())


def test_en_sale_article_is_relevant_with_evidence():
    r = rel("Microsoft said it would press ahead with talks to buy the U.S. operations of TikTok. "
            "ByteDance must sell TikTok's U.S. business or face a ban. The deadline for a sale is Sept. 15.",
            title="Microsoft confirms TikTok talks")
    assert r.relevant and r.score >= 4 and r.sentences and "talks" in [t.lower() for t in r.terms]


def test_de_verkauf_article_is_relevant():
    r = rel("Amazon hat ein Angebot für das US-Geschäft von Tiktok eingereicht. Die Frist für den Verkauf von "
            "Tiktok endet am Samstag. Auch Oracle gilt als Bieter für Tiktok.", title="Amazon bietet für Tiktok",
            lang="de")
    assert r.relevant


def test_en_tiktok_news_without_sale_is_not_relevant():
    r = rel("TikTok said on Thursday it had fixed a problem that left users staring at empty feeds. "
            "A TikTok spokesperson said the issue was resolved. Live sellers on TikTok Shop were also affected.",
            title="TikTok says feeds are back after outage")
    assert not r.relevant


def test_en_other_acquisition_same_vocabulary_is_not_relevant():
    r = rel("Microsoft closed its $69 billion acquisition of Activision Blizzard after the deal won approval. "
            "The buyer had faced a deadline of Oct. 18 to complete the takeover. Regulators approved the sale.",
            title="Microsoft closes Activision deal")
    assert not r.relevant


def test_de_other_takeover_with_bieter_and_frist_is_not_relevant():
    r = rel("Hellwig übernimmt den Sensorspezialisten Optoronik. Im Bieterverfahren setzte sich der Käufer durch, "
            "die Angebotsfrist endet am 30. Juni.", title="Hellwig übernimmt Optoronik", lang="de")
    assert not r.relevant


def test_en_eu_compliance_deadline_for_tiktok_is_not_relevant():
    r = rel("The EU regulator fined TikTok 530 million euros over data transfers to China and ordered TikTok to "
            "comply within six months. TikTok said it would appeal.", title="Regulator fines TikTok")
    assert not r.relevant


def test_de_dsa_frist_is_not_relevant():
    r = rel("Die EU-Kommission hat Tiktok eine Frist von 24 Stunden gesetzt. Tiktok muss eine Risikobewertung für "
            "Tiktok Lite vorlegen.", title="Tiktok Lite: EU-Kommission setzt 24-Stunden-Frist", lang="de")
    assert not r.relevant


def test_en_douyin_is_not_tiktok():
    r = rel("Douyin's hosts sold everything from lipstick to refrigerators. Douyin, ByteDance's Chinese twin of "
            "TikTok, is growing.", title="Douyin's livestream hosts muscle in on Singles' Day")
    assert not r.relevant


def test_en_other_app_ban_is_not_relevant():
    r = rel("Trump signed an order banning transactions with WeChat in 45 days. Tencent shares fell. "
            "A companion order signed the same evening targeted TikTok.", title="Trump order targeting WeChat")
    assert not r.relevant


def test_en_roundup_with_tiktok_side_note_is_not_relevant():
    filler = " ".join(f"Company {i} reported higher quarterly revenue and raised its outlook for the year." for i in range(40))
    r = rel(filler + " Separately, talks on a sale of TikTok continued.", title="Tech earnings roundup")
    assert not r.relevant


def test_relevance_reason_names_score_and_threshold():
    r = rel("TikTok outage.", title="TikTok")
    assert "threshold" in r.reason and r.score == 0


def test_en_roundup_with_tiktok_paragraph_without_headline_is_not_relevant():
    filler = " ".join(f"Company {i} reported higher quarterly revenue and raised its outlook for the year." for i in range(30))
    sale = ("Oracle is in talks to buy TikTok's U.S. business. The deadline for ByteDance to sell TikTok is Jan. 19. "
            "Microsoft is also in talks to buy TikTok. ")
    assert not rel(filler + " " + sale, title="Tech this week: earnings, chips and more").relevant


def test_en_sale_story_under_a_headline_without_tiktok_is_relevant():
    text = ("Oracle is in talks to buy TikTok's U.S. business, people familiar said. ByteDance must sell TikTok by "
            "Jan. 19 or face a ban. Microsoft is also in talks to acquire TikTok. A sale of TikTok would need "
            "Beijing's approval. Bidders for TikTok include Perplexity AI.")
    assert rel(text, title="The race is on").relevant


def test_en_tiktok_as_buyer_is_not_the_sale():
    r = rel("TikTok agreed to buy a 75% stake in Tokopedia for $1.5 billion. The acquisition of Tokopedia lets TikTok "
            "Shop return to Indonesia. TikTok will invest in Tokopedia over time.", title="TikTok to buy Tokopedia stake")
    assert not r.relevant


def test_feed_summary_headline_and_one_sentence_is_relevant():
    r = rel("Walmart said it has teamed up with Microsoft to bid for the video app's U.S. operations.",
            title="Walmart joins Microsoft bid for TikTok's U.S. business")
    assert r.relevant


def test_misdetected_language_still_classified():
    r = classify(article("Amazon hat ein Angebot für das US-Geschäft von Tiktok eingereicht. Die Frist für den "
                         "Verkauf von Tiktok endet am Samstag.", lang="en", title="Amazon bietet für Tiktok"), profile())
    assert r.relevant


def test_merger_with_a_bidder_is_the_sale_not_another_deal():
    from dealwatch.facts.text import about_other_deal
    assert not about_other_deal("ByteDance is weighing a merger with Perplexity for TikTok's U.S. arm.", profile())
    assert about_other_deal("Microsoft closed its acquisition of Activision Blizzard.", profile())


# --- generalisation cases (held-out styles) --------------------------------------------------------------

def test_de_deadline_only_article_about_eu_is_not_the_sale():
    # "Frist" (timing vocabulary) alone, twice naming TikTok: an EU procedure, not the sale
    r = rel("Die EU-Kommission hat ein Verfahren gegen Tiktok eingeleitet. Tiktok hat eine Frist von 24 Stunden, um "
            "eine Risikobewertung vorzulegen. Die Kommission kann das Programm aussetzen.",
            title="EU-Kommission setzt Tiktok Frist", lang="de")
    assert not r.relevant


def test_de_lead_sentence_stands_in_for_a_headline_naming_only_a_party():
    r = rel("Kurz vor Ablauf der Frist wirft auch der Onlinehändler Amazon seinen Hut in den Ring: Der Konzern habe ein "
            "Angebot für Tiktok abgegeben. Der Softwarekonzern Nordstern Systems erwägt ebenfalls ein Angebot für das "
            "US-Geschäft. Bis Samstag muss eine Lösung für Tiktok her.",
            title="Jetzt wirft auch Amazon seinen Hut in den Ring", lang="de")
    assert r.relevant


def test_en_anaphor_right_after_a_target_sentence_counts_fully():
    r = rel("Oracle has made an offer for TikTok. Its rival is weighing a bid for the U.S. business as well.",
            title="Suitors line up")
    assert r.score > 0


def test_en_buy_tiktok_headline_is_sale_vocabulary():
    r = rel("With the Jan. 19 deadline a week away, only one formal offer for TikTok's U.S. business is on the table. "
            "Project Liberty has formally made an offer. A media analyst said Microsoft would be the logical buyer.",
            title="Who could buy TikTok? The contenders, real and imagined")
    assert r.relevant


def test_en_seller_alone_after_target_sentence_is_not_upgraded():
    # "ByteDance ... its Indian business": the seller alone is not an anaphor of the U.S. business
    r = rel("A year ago India banned TikTok and other apps. Local rivals have been bidding for TikTok's former users. "
            "ByteDance had explored selling its Indian business to a local buyer, but no deal emerged.",
            title="A year after India's TikTok ban, local rivals fight for its users")
    assert not r.relevant


def test_en_former_chief_of_other_company_does_not_void_the_sentence():
    r = rel("A group of investors led by former Activision chief Bobby Kotick is exploring a bid for TikTok. "
            "Steven Mnuchin said he is building an investor group to buy TikTok.",
            title="Kotick, Mnuchin circle TikTok")
    assert r.relevant


def test_en_interest_from_parties_headline_is_sale_vocabulary():
    r = rel("ByteDance has received interest from at least five parties for TikTok's U.S. business, including Oracle. "
            "Walmart was preparing a joint bid with Microsoft. The sale must be agreed by Tuesday.",
            title="ByteDance weighs interest from five parties for TikTok's U.S. arm")
    assert r.relevant


def test_de_favorit_im_tiktok_poker_is_sale_vocabulary():
    r = rel("Im Poker um Tiktok gilt Oracle als aussichtsreichster Kandidat für die Übernahme des US-Geschäfts. "
            "Bis zum 5. April muss ein Käufer gefunden sein.", title="Oracle gilt als Favorit im Tiktok-Poker", lang="de")
    assert r.relevant


def test_en_race_headline_and_selling_lead_are_sale_vocabulary():
    r = rel("Microsoft said on Sunday that ByteDance would not be selling TikTok's U.S. operations to it, ending its "
            "pursuit of the app. Oracle is expected to be named as a partner.",
            title="Microsoft bows out of TikTok race; Oracle presses ahead")
    assert r.relevant


def test_en_buyer_of_something_else_is_not_the_sale():
    r = rel("ByteDance, the owner of TikTok, has agreed to buy a 10% stake in a Shanghai chip designer for about $500 "
            "million. The deal is part of ByteDance's push to secure AI chips. ByteDance faces a U.S. law requiring it to "
            "sell TikTok's American business by January, but the chip deal is unrelated.",
            title="ByteDance buys stake in Chinese chip designer")
    assert not r.relevant


def test_en_deadline_extension_with_deal_words_elsewhere_is_relevant():
    r = rel("Trump says he is extending the TikTok deadline, which was set to expire Saturday, by 75 days. Blackstone, "
            "which had been set to join the Oracle-led group, is reviewing its options. China said it opposes any deal.",
            title="Live: Trump extends TikTok deadline by 75 days")
    assert r.relevant


def test_de_mitbieten_headline_and_gehandelt():
    r = rel("Als mögliche Käufer des US-Geschäfts von Tiktok werden Oracle und Blackstone gehandelt. Auch der Hedgefonds "
            "Ostwind Capital mischt mit.", title="Wer bei Tiktok mitbietet", lang="de")
    assert r.relevant


def test_en_in_the_mix_headline():
    r = rel("Oracle and Blackstone are said to be in the mix for TikTok's U.S. business, according to Bloomberg News. "
            "Newcomer Quill Ventures is also among the bidders.", title="Who's in the mix for TikTok as the clock runs down")
    assert r.relevant


def test_en_price_tag_and_worth_are_sale_vocabulary():
    r = rel("Analysts put a price tag of $50 billion on TikTok's U.S. business. Bidders such as Oracle would pay less.",
            title="The $50 billion question: what TikTok's U.S. arm is worth")
    assert r.relevant
