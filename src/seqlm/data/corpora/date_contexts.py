"""The `long` regime of the dates corpus: one date inside a longer message full of other
digits (reference numbers, times, room numbers, amounts) and ordinary words.

A template names the slot `{date}` and its distractor slots; `embed` fills them, grows the
message with filler sentences to a length drawn from 40-110, and accepts it only if it is
40-120 characters long and `locate_date` finds exactly the date that was put in, at the
recorded span: no distractor may form, alone or with the date's neighbours, another date in
any format (a rejected context is redrawn; the date and its rendering stay).
These are the inputs on which a fixed-vector encoder is a real bottleneck (Bahdanau et al.
2015, Fig. 2). Leaves out: several dates per message, dates written relative to others.
"""

import random
import string
from dataclasses import dataclass
from datetime import date

from seqlm.data.corpora.date_formats import locate_date

MIN_CHARS, MAX_CHARS = 40, 120
MAX_ATTEMPTS = 200  # redraws of the context before a (date, rendering) is declared impossible

TEMPLATES = (
    "Meeting moved to {date} at {time} in room {room}.",
    "Invoice {ref} for {amount} is due on {date}.",
    "Please bring order {order} to gate {gate} on {date}.",
    "On {date} we shipped {count} boxes to floor {floor}.",
    "Flight {flight} leaves {date} at {time} from gate {gate}.",
    "The lease for unit {room} ends {date}; deposit {amount}.",
    "Ticket {ticket} is valid until {date}, seat {seat}.",
    "Report filed {date} by desk {desk}, case {ref}.",
    "{date}: {count} guests checked in to rooms {room} and {room2}.",
    "Delivery window {time} to {time2}, {date}, dock {desk}.",
    "Ref {ref}: payment of {amount} received {date}.",
    "Your appointment on {date} is at {time}, building {gate}.",
    "Call ext. {ext} before {date} to keep order {order}.",
    "Version {version} was released on {date} after {count} fixes.",
    "{date} - shift starts at {time}, locker {room}, badge {ticket}.",
    "Room {room} is booked for {date} from {time} for {count} people.",
    "Account {order} was charged {amount} on {date} at {time}.",
    "Parcel {ticket} left the depot {date} and weighs {weight}.",
)
FILLERS = (  # sentences added before or after the message to reach a drawn length
    "Thanks for your patience.", "Please keep this note.", "Bring your badge.",
    "Reply if anything changed.", "See the notes below.", "Doors open early.",
    "No reply is needed.", "Call the front desk for help.", "Parking is in lot {gate}.",
    "The desk opens at {time2}.", "Quote ref {ref} in any reply.", "Ask for extension {ext}.",
    "Up to {count} guests are allowed.", "Lockers cost {amount}.",
)


@dataclass(frozen=True)
class Embedded:
    source: str
    span: tuple[int, int]  # source[span[0]:span[1]] is the rendered date


def distractors(rng: random.Random) -> dict[str, str]:
    """One value for every distractor slot; each is a number that is not a date."""
    letter = rng.choice(string.ascii_uppercase)
    return {
        "time": f"{rng.randrange(24):02d}:{rng.choice((0, 15, 30, 45)):02d}",
        "time2": f"{rng.randrange(24):02d}:{rng.choice((0, 10, 20, 40, 50)):02d}",
        "room": str(rng.randint(100, 999)),
        "room2": str(rng.randint(100, 999)),
        "ref": f"{rng.randint(1000, 9999)}-{letter}",
        "amount": rng.choice(("${:,}.{:02d}", "{:,}.{:02d} EUR")).format(
            rng.randint(5, 9999), rng.randrange(100)),
        "order": f"#{rng.randint(10000, 99999)}",
        "gate": f"{letter}{rng.randint(1, 48)}",
        "count": str(rng.randint(2, 400)),
        "floor": str(rng.randint(1, 30)),
        "flight": f"{letter}{rng.choice(string.ascii_uppercase)} {rng.randint(100, 9999)}",
        "ticket": str(rng.randint(100000, 999999)),
        "seat": f"{rng.randint(1, 60)}{rng.choice('ABCDEF')}",
        "desk": str(rng.randint(1, 99)),
        "ext": str(rng.randint(1000, 9999)),
        "version": f"{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
        "weight": f"{rng.randint(1, 40)}.{rng.randrange(10)} kg",
    }


def draft(rendered: str, rng: random.Random) -> Embedded:
    """One candidate message around `rendered` (not yet checked), grown with filler
    sentences to a length drawn uniformly from MIN_CHARS..MAX_CHARS - 10."""
    values = distractors(rng)
    before, after = (part.format(**values) for part in rng.choice(TEMPLATES).split("{date}"))
    if before == "" and rendered[:1].islower():
        before = rng.choice(("Date: ", "Due: ", "Note: "))  # a message starts with a capital
    target_chars = rng.randint(MIN_CHARS, MAX_CHARS - 10)
    while len(before) + len(rendered) + len(after) < target_chars:
        filler = rng.choice(FILLERS).format(**values)
        if rng.random() < 0.5:
            after = after + " " + filler
        else:  # the date moves right by the filler
            before = filler + " " + before
    return Embedded(before + rendered + after, (len(before), len(before) + len(rendered)))


def embed(d: date, rendered: str, rng: random.Random) -> Embedded:
    """`rendered` (a rendering of `d`) inside a checked 40-120 character message."""
    for _ in range(MAX_ATTEMPTS):
        candidate = draft(rendered, rng)
        if not MIN_CHARS <= len(candidate.source) <= MAX_CHARS:
            continue
        try:
            found = locate_date(candidate.source)
        except ValueError:  # a distractor formed a second date: draw another context
            continue
        if found.date == d and (found.start, found.end) == candidate.span:
            return candidate
    raise RuntimeError(f"no valid context for {rendered!r} in {MAX_ATTEMPTS} attempts")
