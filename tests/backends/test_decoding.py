"""TextStream: token bytes to streamed text with stop strings."""

from __future__ import annotations

import pytest

from longform.backends.decoding import TextStream


def run(pieces: list[bytes], stop=None) -> tuple[TextStream, list[str]]:
    stream, shown = TextStream(stop), []
    for piece in pieces:
        shown.append(stream.feed(piece))
        if stream.stopped:
            break
    shown.append(stream.finish())
    return stream, shown


def test_plain_text_passes_through_piece_by_piece():
    stream, shown = run([b"Hello", b",", b" world"])
    assert shown == ["Hello", ",", " world", ""]
    assert stream.text == "Hello, world" and not stream.stopped


def test_a_character_split_over_tokens_waits_for_its_last_byte():
    tea = "茶".encode()  # three bytes
    stream, shown = run([b"a", tea[:1], tea[1:2], tea[2:], b"b"])
    assert shown == ["a", "", "", "茶", "b", ""]
    assert stream.text == "a茶b"


def test_invalid_bytes_are_dropped_and_the_text_after_them_kept():
    # a 135M model can emit a lead byte and never finish the character; what
    # follows must not be lost (llama-cpp-python's stream lost it)
    stream, _ = run([b"\xe4\xb8", b"A", "长城很长".encode(), b"\xff", "。".encode()])
    assert stream.text == "A长城很长。"


def test_stop_string_inside_one_piece_cuts_there():
    stream, _ = run([b"one two END three"], stop=["END"])
    assert stream.stopped and stream.text == "one two "


def test_stop_string_over_several_pieces_is_never_shown():
    stream, shown = run([b"one E", b"N", b"D two"], stop=["END"])
    assert shown == ["one ", "", "", ""]  # "E" and "EN" held back, then the stop found
    assert stream.stopped and stream.text == "one "


def test_held_text_that_turns_out_not_to_be_a_stop_is_released():
    stream, shown = run([b"one E", b"N", b"d"], stop=["END"])
    assert shown == ["one ", "", "ENd", ""]
    assert stream.text == "one ENd" and not stream.stopped


def test_held_text_is_released_at_the_end():
    stream, shown = run([b"text <|im"], stop=["<|im_end|>"])
    assert shown == ["text ", "<|im"] and stream.text == "text <|im"


@pytest.mark.parametrize("stops", [["\n\n\n", "END"], ["END", "\n\n\n"]])
def test_the_earliest_stop_wins(stops):
    stream, _ = run([b"a\n\n\nb END"], stop=stops)
    assert stream.text == "a"


def test_nothing_after_a_stop():
    stream = TextStream(["X"])
    assert stream.feed(b"abXcd") == "ab"
    assert stream.feed(b"more") == "" and stream.finish() == ""
    assert stream.text == "ab"
