"""The word lists behind the `verbs` corpus: verbs with what may follow them, nouns, names.

Facts only, no logic: irregular principal parts (American spelling, but "got" rather than
"gotten"), the verbs whose final syllable is stressed (prefer -> preferred, not
visit -> visitted), which verbs are stative (never "i am knowing"), and the complements that
make ordinary sentences ("he watches the film"). No noun, adjective or complement word may also
be a form of a listed verb (the tests check), so holding a verb out removes every trace of it.
Leaves out: phrasal verbs, modal verbs other than "will", British spellings.
"""

# lemma -> (past simple, past participle); "be" has two past forms, chosen by person
IRREGULAR: dict[str, tuple[str, str]] = {
    "be": ("was", "been"), "have": ("had", "had"), "do": ("did", "done"),
    "go": ("went", "gone"), "say": ("said", "said"), "make": ("made", "made"),
    "take": ("took", "taken"), "come": ("came", "come"), "see": ("saw", "seen"),
    "know": ("knew", "known"), "get": ("got", "got"), "give": ("gave", "given"),
    "find": ("found", "found"), "think": ("thought", "thought"), "tell": ("told", "told"),
    "become": ("became", "become"), "leave": ("left", "left"), "feel": ("felt", "felt"),
    "bring": ("brought", "brought"), "begin": ("began", "begun"), "write": ("wrote", "written"),
    "read": ("read", "read"), "run": ("ran", "run"), "eat": ("ate", "eaten"),
    "drink": ("drank", "drunk"), "speak": ("spoke", "spoken"), "buy": ("bought", "bought"),
    "sell": ("sold", "sold"), "sleep": ("slept", "slept"), "swim": ("swam", "swum"),
    "sing": ("sang", "sung"), "drive": ("drove", "driven"), "forget": ("forgot", "forgotten"),
    "meet": ("met", "met"), "teach": ("taught", "taught"), "catch": ("caught", "caught"),
    "build": ("built", "built"), "send": ("sent", "sent"), "understand": ("understood",
                                                                          "understood"),
    "win": ("won", "won"), "lose": ("lost", "lost"), "sit": ("sat", "sat"),
    "stand": ("stood", "stood"), "hear": ("heard", "heard"), "keep": ("kept", "kept"),
    "fly": ("flew", "flown"), "put": ("put", "put"), "cut": ("cut", "cut"),
}

# final-syllable stress: the last consonant doubles (prefer -> preferred, begin -> beginning)
STRESSED_FINAL = frozenset({
    "admit", "begin", "commit", "control", "equip", "forget", "occur", "permit", "prefer",
    "refer", "regret", "submit", "upset",
})

# never in the continuous tenses in generated sentences (the grammar itself allows them)
STATIVE = frozenset({
    "be", "have", "know", "like", "love", "hate", "want", "need", "prefer", "believe",
    "understand", "remember", "own", "admire", "trust", "hear", "see",
})

# complement kind -> what may follow the verb; every kind has at least three entries
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "intr": ("hard", "at home", "in the garden", "quietly", "a lot", "well"),
    "thing": ("the door", "the box", "the window", "the car", "the bag", "the old chair"),
    "food": ("the soup", "an apple", "the bread", "dinner", "a cake", "the rice"),
    "person": ("the teacher", "anna", "the children", "his friend", "her mother", "the doctor"),
    "show": ("the film", "the news", "the match", "a game", "tv"),
    "place": ("the city", "the museum", "the old house", "the park", "the village"),
    "mistake": ("the mistake", "the error", "everything", "the rule"),
    "state": ("happy", "tired", "at home", "busy", "hungry", "in the garden", "late"),
    "feeling": ("happy", "tired", "hungry", "better", "cold", "sad"),
    "position": ("at the table", "in the garden", "at the door", "quietly", "near the window"),
    "put": ("the box on the table", "the keys in the bag", "the bread on the shelf"),
    "begin": ("the game", "the lesson", "the race", "again"),
    "text": ("a letter", "the book", "a story", "the newspaper", "the email"),
    "move": ("home", "to school", "to the park", "to the city", "there"),
    "drinks": ("water", "tea", "coffee", "milk", "juice"),
    "language": ("french", "english", "german", "slowly", "loudly"),
    "music": ("a song", "the piano", "loudly", "well"),
    "game": ("the game", "a prize", "the race", "the match"),
    "fact": ("the truth", "the way", "the rules", "the name", "the secret"),
    "become": ("a doctor", "a teacher", "famous", "rich", "tired"),
    "think": ("about the future", "about the holiday", "hard", "about the past"),
    "say": ("hello", "goodbye", "sorry", "a word", "something", "yes"),
    "home": ("the house", "the city", "early", "home", "the office"),
    "build": ("a house", "a wall", "a boat", "a bridge"),
    "do": ("the dishes", "the homework", "a puzzle", "the laundry"),
    "give": ("a present to anna", "the keys to the doctor", "the children a cake",
             "her mother a letter"),
}

# regular verbs by complement kind
REGULAR: dict[str, tuple[str, ...]] = {
    "intr": ("work", "live", "arrive", "smile", "laugh", "cry", "jump", "dance", "hurry",
             "relax", "panic", "stay", "wait", "rest", "shout", "walk", "talk", "study", "worry",
             "agree", "chat", "jog", "nod", "clap", "hop", "complain", "yawn", "listen",
             "travel", "picnic", "sneeze"),
    "thing": ("open", "close", "fix", "push", "pull", "touch", "carry", "clean", "wash", "paint",
              "drop", "grab", "lift", "fill", "check", "move", "kick", "lock", "control", "dry",
              "mix", "polish", "stop", "cover", "deliver", "own"),
    "food": ("cook", "taste", "boil", "bake", "order", "share", "enjoy", "prefer", "want",
             "need", "like", "hate", "chop", "offer"),
    "person": ("help", "call", "visit", "thank", "kiss", "hug", "marry", "admire", "invite",
               "follow", "answer", "phone", "greet", "miss", "remember", "believe", "trust",
               "love", "rob", "beg", "watch"),
    "show": ("play", "record", "plan", "discuss"),
    "place": ("enter", "reach", "explore"),
    "mistake": ("admit", "regret", "repeat", "explain", "ignore", "copy", "notice", "try"),
}

# irregular verbs by complement kind
IRREGULAR_KINDS: dict[str, tuple[str, ...]] = {
    "state": ("be",), "feeling": ("feel",), "position": ("sit", "stand"), "put": ("put",),
    "thing": ("have", "take", "get", "find", "sell"),
    "do": ("do",), "move": ("go", "come", "run", "fly", "drive"), "say": ("say",),
    "food": ("make", "eat", "buy", "bring", "cut"), "person": ("meet", "see"),
    "fact": ("know", "tell", "forget", "understand", "keep", "hear"),
    "become": ("become",), "home": ("leave",), "think": ("think",),
    "game": ("win", "lose"), "begin": ("begin",), "text": ("write", "read", "send"),
    "drinks": ("drink",), "language": ("speak", "teach"), "music": ("sing",),
    "intr": ("sleep", "swim"), "build": ("build",), "give": ("give",),
}

# transitive verbs that fit an object gap after any noun: "the teacher that the children like"
RELATIVE_VERBS = ("like", "love", "see", "know", "visit", "watch", "hate", "miss", "admire",
                  "remember", "find", "meet", "help", "follow")

PRONOUNS_SINGULAR = ("i", "you", "he", "she", "it")
PRONOUNS_PLURAL = ("we", "you", "they")

NAMES = ("anna", "tom", "maria", "david", "lisa", "peter", "sara", "john", "emma", "paul",
         "nina", "omar", "kate", "ben", "julia", "leo")

# people and animals: subjects and attractors, (singular, plural)
AGENTS: tuple[tuple[str, str], ...] = (
    ("teacher", "teachers"), ("doctor", "doctors"), ("farmer", "farmers"),
    ("student", "students"), ("nurse", "nurses"), ("driver", "drivers"), ("baker", "bakers"),
    ("singer", "singers"), ("dog", "dogs"), ("cat", "cats"), ("horse", "horses"),
    ("child", "children"), ("man", "men"), ("woman", "women"), ("boy", "boys"),
    ("girl", "girls"), ("king", "kings"), ("queen", "queens"), ("pilot", "pilots"),
    ("waiter", "waiters"), ("neighbor", "neighbors"), ("mouse", "mice"),
)

# places and things: attractors in prepositional phrases, (singular, plural)
THINGS: tuple[tuple[str, str], ...] = (
    ("house", "houses"), ("river", "rivers"), ("door", "doors"), ("tree", "trees"),
    ("bridge", "bridges"), ("table", "tables"), ("window", "windows"), ("garden", "gardens"),
    ("station", "stations"), ("hill", "hills"), ("lake", "lakes"), ("church", "churches"),
    ("box", "boxes"), ("city", "cities"), ("library", "libraries"), ("wall", "walls"),
    ("road", "roads"), ("knife", "knives"), ("shelf", "shelves"), ("bus", "buses"),
    ("glass", "glasses"), ("roof", "roofs"), ("tower", "towers"), ("farm", "farms"),
)

DETERMINERS = ("the", "my", "your", "his", "her", "our", "their")
ADJECTIVES = ("old", "young", "small", "big", "red", "green", "quiet", "busy", "white", "dark",
              "new", "tall", "little", "kind", "clever", "strange")
# prepositions before any noun, and those that fit only places and things
PREPOSITIONS = ("near", "behind", "with", "without", "beside", "from")
PLACE_PREPOSITIONS = ("by", "under", "above", "around", "outside", "inside", "in", "on", "at",
                      "past")
# before a finite verb inside agreement gaps; no "never", which would meet "not"
FREQUENCY_ADVERBS = ("often", "always", "usually", "sometimes", "rarely", "also")

# time phrases that fit each tense; appended to ordinary sentences
TIME_PHRASES: dict[str, tuple[str, ...]] = {
    "present": ("every day", "on sundays", "in the morning", "every week"),
    "past": ("yesterday", "last week", "two days ago", "in the morning"),
    "present_continuous": ("now", "at the moment", "today", "this week"),
    "past_continuous": ("all evening", "at that moment", "at noon", "all day"),
    "present_perfect": ("many times", "before", "this week", "twice"),
    "future": ("tomorrow", "next week", "soon", "later"),
}
