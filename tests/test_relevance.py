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
