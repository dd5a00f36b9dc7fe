"""The claims that issue 15 corrected, read from the executed chapters.

Each chapter asserts its own comparisons while the book builds; these tests read the
numbers those chapters glued (from the build's jupyter-cache, as tests/test_book.py
does) and check that each corrected claim is still carried by a measured number, and
that the number still says what the prose says. A chapter that drops a key, or whose
numbers turn, fails here with the claim named.
"""
import ast

import pytest

from test_book import executed


def glued(name):
    """{key: value} of everything the chapter glued; numbers as floats, the rest as the
    text the chapter displays."""
    values = {}
    for cell in executed(name)["cells"]:
        for out in cell.get("outputs", []):
            key = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if key is None:
                continue
            meta = out["metadata"]["scrapbook"]
            text = out.get("data", {}).get(meta.get("mime_prefix", "") + "text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            try:
                value = ast.literal_eval(text)
                values[key] = float(value) if not isinstance(value, str) else value
            except (ValueError, SyntaxError, TypeError):
                values[key] = text
    return values


@pytest.fixture(scope="module")
def book():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = glued(f"chapters/{name}")
        return cache[name]
    return get


def number(values, key):
    assert key in values, f"the chapter no longer glues {key}"
    try:
        return float(values[key])       # a number, or text that is one (e.g. '180')
    except ValueError:
        pytest.fail(f"{key} is glued as text that is no number ({values[key]!r}): glue "
                    "the number itself to check it here")


def test_ch2_probe_is_compared_with_the_baseline_on_the_same_sequences(book):
    ch2 = book("02_vanishing_gradients")
    for key in ("ch2_init_baseline", "ch2_init_mse", "ch2_dx_weaker30"):
        assert key in ch2, f"chapter 2 no longer glues {key}"
    assert number(ch2, "ch2_init_mse_ratio_min") > 0.9, (
        "chapter 2 says no seed trains far below the baseline")


def test_ch3_compares_the_same_quantity_for_both_networks(book):
    ch3 = book("03_lstm_cell")
    rnn = number(ch3, "ch3_rnn_dx_lag100") / number(ch3, "ch3_rnn_dx_lag0")
    lstm1 = number(ch3, "ch3_lstm1_dx_lag100") / number(ch3, "ch3_lstm1_dx_lag0")
    lstm3 = number(ch3, "ch3_lstm3_dx_lag500") / number(ch3, "ch3_lstm3_dx_lag0")
    assert rnn < 1e-6 and lstm1 > 1e3 * rnn, "dL/dx at lag 100: the RNN's has vanished"
    assert lstm3 > 0.1, "dL/dx at lag 500 with forget bias 3 is still a tenth of lag 0's"


def test_ch4_shows_cs231n_error_with_and_without_its_floor(book):
    ch4 = book("04_lstm_from_scratch")
    bare, floored = number(ch4, "ch4_demo_elementwise"), number(ch4, "ch4_demo_floor")
    assert bare > 0.1 and 1e-4 < floored < bare / 10


def test_ch5_claims_are_statistics_over_seeds(book):
    ch5 = book("05_variants")
    assert number(ch5, "ch5_race_gru_median") <= 0.8 * number(ch5, "ch5_race_lstm_median")
    assert "ch5_noaf_runaway_seed" not in ch5, "one seed's runaway run is not a claim"


def test_ch10_counting_wins_at_this_budget_and_the_chapter_says_so(book):
    ch10 = book("10_text_generation")
    ngrams = [number(ch10, f"ch10_ngram{n}_bits") for n in (3, 4, 5, 6)]
    lstm = number(ch10, "ch10_lstm_bits")
    assert min(ngrams) < lstm - 0.1, "the best n-gram beats the LSTM by a margin"
    assert ngrams[0] > lstm, "the trigram does not"
    assert number(ch10, "ch10_ctx_word_share") > 0.85


def test_ch11_delay_recovers_part_of_the_gap(book):
    ch11 = book("11_labelling_anomalies")
    assert "ch11_delay_recovered" in ch11


def test_ch12_clock_follows_the_operations_not_the_flops(book):
    ch12 = book("15_lstms_today")
    for key in ("ch12_gru_over_lstm_fwd", "ch12_ops_lstm_fwd", "ch12_ops_step_gru_fwd"):
        assert key in ch12, f"chapter 15 (LSTMs today) no longer glues {key}"


def test_ch6_pads_at_the_end_and_the_mask_makes_padding_invisible(book):
    ch6 = book("06_keras")
    masked = number(ch6, "ch6_mask_diff")
    assert masked < 1e-5, "with the mask, end padding gives the unpadded final state"
    assert min(number(ch6, "ch6_unmask_diff_front"),
               number(ch6, "ch6_unmask_diff_end")) > 1e3 * masked, (
        "without the mask, padding changes the final state, at either end")
