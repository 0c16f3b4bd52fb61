"""Word and phrase banks the demo catalog writes its titles, plots and reviews from.

Each genre has its own vocabulary and sentence templates so a model can learn genre
from a plot, while neutral sentences and borrowed sentences from other genres keep
it from being trivial. Templates use ``{hero}``, ``{other}``, ``{place}`` and ``{kw}``.
"""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Ben", "Clara", "Dev", "Elena", "Felix", "Grace", "Hiro", "Ines", "Jonah",
    "Kira", "Liam", "Maya", "Noor", "Oscar", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
    "Uma", "Victor", "Wren", "Xavier", "Yara", "Zoe", "Malik", "Hana", "Mateo", "Freya",
    "Ezra", "Lucia", "Omar", "Ingrid", "Theo", "Amara", "Jae", "Sofia", "Ravi", "Nadia",
)
SURNAMES: tuple[str, ...] = (
    "Okafor", "Lindqvist", "Moreau", "Tanaka", "Alvarez", "Brennan", "Kowalski", "Haddad",
    "Castillo", "Nakamura", "Fischer", "Osei", "Patel", "Duarte", "Novak", "Reyes",
    "Sato", "Byrne", "Kim", "Mendes", "Walsh", "Rossi", "Ivanova", "Park", "Quist",
)
PLACES: tuple[str, ...] = (
    "Port Calder", "Ashford", "New Harlow", "the Salt Flats", "Kestrel Bay", "Lower Vale",
    "Marrow Island", "Brightwater", "the northern coast", "Old Carrick", "Dunmore",
    "a mountain village", "the capital", "Greyhaven", "Sable Creek", "the old quarter",
    "Willow Falls", "a border town", "Redmere", "the city of Ostra",
)
# Accented words used for the titles served in a non-UTF-8 charset: all encodable
# in both windows-1252 and ISO-8859-1.
ACCENTED_WORDS: tuple[str, ...] = (
    "Café", "Señor", "Müller", "Noël", "Zürich", "Ñandú", "Brûlée", "Pequeño",
    "Über", "Déjà", "Niño", "Façade", "Mañana", "Göteborg", "Crème", "Añejo",
)

TITLE_ADJECTIVES: tuple[str, ...] = (
    "Last", "Silent", "Broken", "Golden", "Hidden", "Crimson", "Hollow", "Distant",
    "Burning", "Quiet", "Wild", "Frozen", "Endless", "Lost", "Bright", "Savage",
    "Little", "Secret", "Lonely", "Electric", "Midnight", "Paper", "Iron", "Velvet",
    "Restless", "Final", "Second", "Northern", "Shallow", "Falling", "Glass", "Bitter",
    "Sweet", "Dark", "Open", "Stolen", "Crooked", "Gentle", "Heavy", "Loud",
)
TITLE_NOUNS: tuple[str, ...] = (
    "Harbor", "Signal", "Garden", "Frontier", "Witness", "Orbit", "Kingdom", "Letter",
    "Storm", "Mirror", "Crossing", "Empire", "Summer", "Winter", "River", "Machine",
    "Verdict", "Lantern", "Promise", "Shadow", "Season", "Country", "Dance", "Station",
    "Island", "Echo", "Voyage", "Heart", "Road", "Circle", "Tide", "Hour", "Night",
    "Choir", "Ledger", "Compass", "Horizon", "Fever", "Passage", "Engine", "Wolves",
    "Anthem", "Canyon", "Ember", "Fortune", "Tower", "Ghosts", "Rebels", "Sparrow",
)
TITLE_PATTERNS: tuple[str, ...] = (
    "The {adj} {noun}",
    "{adj} {noun}",
    "{noun} of {place}",
    "{first}'s {noun}",
    "The {noun} & the {noun2}",
    "{adj} {nouns}",
    "{article} {adj} {noun}",
    "{noun}: {adj} {noun2}",
)
TITLE_PLACES: tuple[str, ...] = (
    "Ashford", "Kestrel Bay", "Greyhaven", "Redmere", "Ostra", "Dunmore", "Brightwater",
    "Sable Creek", "Old Carrick", "Marrow", "the North", "Tomorrow", "Glass", "Ash",
)

GENRE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "action": ("explosion", "car chase", "firefight", "mercenary", "rooftop", "hostage", "shootout", "bomb"),
    "adventure": ("expedition", "treasure map", "jungle", "lost temple", "voyage", "quest", "uncharted island", "caravan"),
    "animation": ("animated", "talking animals", "hand-drawn", "cartoon", "stop-motion", "colourful"),
    "comedy": ("hilarious", "mishap", "prank", "awkward", "wedding disaster", "slapstick", "misunderstanding", "punchline"),
    "crime": ("heist", "gang", "detective", "cartel", "robbery", "mob boss", "con artist", "smuggling"),
    "documentary": ("archival footage", "interviews", "true story", "filmmaker", "real-life", "investigation"),
    "drama": ("grief", "family secret", "estranged", "illness", "divorce", "second chance", "reconciliation"),
    "family": ("siblings", "grandparents", "family road trip", "puppy", "holiday", "bedtime", "school play"),
    "fantasy": ("dragon", "sorcerer", "enchanted", "prophecy", "elves", "magic sword", "cursed kingdom"),
    "history": ("empire", "dynasty", "revolution", "nineteenth century", "medieval", "king", "historical"),
    "horror": ("haunted", "dread", "demon", "possessed", "cursed", "slasher", "blood", "nightmare"),
    "music": ("band", "concert", "album", "singer", "symphony", "tour", "guitar", "choir"),
    "mystery": ("detective", "alibi", "clue", "whodunit", "disappearance", "suspect", "locked room"),
    "romance": ("love", "first kiss", "heartbreak", "wedding", "soulmate", "old flame", "love letter"),
    "science_fiction": ("starship", "space", "android", "time travel", "alien", "colony", "cyborg", "wormhole"),
    "tv_movie": ("made-for-television", "network premiere", "television film", "cable channel"),
    "thriller": ("conspiracy", "stalker", "ticking clock", "assassin", "cover-up", "paranoia", "double agent"),
    "war": ("battlefield", "soldiers", "trenches", "platoon", "front line", "occupation", "resistance"),
    "western": ("frontier", "outlaw", "sheriff", "ranch", "saloon", "cattle drive", "gunslinger"),
    "kids": ("preschool", "lessons", "friendly monsters", "playground", "classroom", "sing-along"),
    "news": ("newsroom", "headlines", "anchors", "breaking news", "correspondents", "current affairs"),
    "reality": ("contestants", "elimination", "challenge", "reality competition", "house guests", "judges"),
    "soap": ("affair", "feud", "inheritance", "scandal", "long-lost twin", "family dynasty"),
    "talk": ("talk show", "host", "celebrity guests", "studio audience", "late-night", "interviews"),
}

GENRE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "action": (
        "{hero} fights through a {kw} to stop a rogue unit from seizing {place}.",
        "After a {kw} leaves the city burning, ex-commando {hero} has one night to settle the score.",
        "A {kw} on a speeding train pits {hero} against a ruthless {kw2}.",
        "{hero}, a retired bodyguard, is dragged back in when a {kw} erupts in {place}.",
    ),
    "adventure": (
        "{hero} sets off on an {kw} across {place} with a stolen {kw2}.",
        "A battered {kw} leads {hero} and {other} toward an {kw2}.",
        "Far from home, {hero} joins a {kw} in search of a legendary city.",
        "The {kw} takes {hero} over mountains, rivers and a perilous {kw2}.",
    ),
    "animation": (
        "In this {kw} tale, a shy robot and {hero} build a home from scraps.",
        "A {kw} world of {kw2} comes alive when {hero} opens a forgotten sketchbook.",
        "{hero}, a brave little fox, leads a {kw} band of misfits to save the forest.",
    ),
    "comedy": (
        "A {kw} {kw2} turns {hero}'s quiet weekend in {place} upside down.",
        "{hero} and {other} bluff their way through a {kw} that spirals out of control.",
        "One {kw} after another, {hero} tries to keep a terrible secret from the in-laws.",
        "What begins as a small {kw} becomes the most {kw2} week of {hero}'s life.",
    ),
    "crime": (
        "{hero} plans one last {kw} against the {kw2} who runs {place}.",
        "A {kw} goes wrong and {hero} must hide the money from a ruthless {kw2}.",
        "Inside a {kw} empire, {hero} starts informing for the police.",
        "A weary {kw} follows the trail of a {kw2} through {place}.",
    ),
    "documentary": (
        "Through {kw} and rare {kw2}, this film follows {hero} for ten years.",
        "A {kw} look at how {place} was transformed, told through {kw2}.",
        "The {kw} behind the project revisits the {kw2} that shaped a generation.",
    ),
    "drama": (
        "Years after a {kw}, {hero} returns to {place} to face an {kw2} father.",
        "{hero} struggles with {kw} while holding a fragile household together.",
        "A {kw} surfaces at a funeral and forces {hero} and {other} into a {kw2}.",
        "Faced with {kw}, {hero} quietly reconsiders everything that mattered.",
    ),
    "family": (
        "Three {kw} and their {kw2} learn to get along during a chaotic summer.",
        "A {kw} to {place} becomes an unforgettable lesson for {hero} and the kids.",
        "{hero} adopts a mischievous {kw} who turns the {kw2} into chaos.",
    ),
    "fantasy": (
        "A young {kw} named {hero} must fulfil an ancient {kw2} to save the realm.",
        "{hero} finds a {kw} in the ruins of a {kw2}.",
        "When the {kw} awakens, {hero} and a band of {kw2} ride for the mountains.",
        "An {kw} forest hides the last {kw2} in the land.",
    ),
    "history": (
        "As the {kw} crumbles, {hero} serves at the court of a dying {kw2}.",
        "Set in the {kw}, this chronicle follows {hero} through a {kw2}.",
        "A {kw} account of the {kw2} that reshaped {place}.",
    ),
    "horror": (
        "{hero} moves into a {kw} farmhouse where the walls whisper at night.",
        "A creeping {kw} fills {place} after {hero} opens a sealed cellar.",
        "Something {kw} stalks {hero} and {other}, and every {kw2} feels real.",
        "The {kw} returns each winter to claim another soul in {place}.",
    ),
    "music": (
        "{hero}'s struggling {kw} gets one shot at a sold-out {kw2}.",
        "A gifted {kw} from {place} risks everything for a first {kw2}.",
        "On a chaotic {kw}, {hero} writes the songs that will define an era.",
    ),
    "mystery": (
        "A {kw} must break a perfect {kw2} to find who killed the heiress.",
        "When a guest vanishes from a {kw}, {hero} follows every {kw2}.",
        "Every {kw} in {place} points at a different {kw2}.",
        "The sudden {kw} of {other} leaves {hero} with one cryptic {kw2}.",
    ),
    "romance": (
        "A chance meeting in {place} sparks an unlikely {kw} between {hero} and {other}.",
        "{hero} rediscovers an {kw} years after a {kw2}.",
        "Two rivals fall into {kw}, one {kw2} at a time.",
        "A forgotten {kw} reunites {hero} with {other}.",
    ),
    "science_fiction": (
        "Aboard the {kw} Meridian, {hero} discovers the {kw2} signal is not human.",
        "In a distant {kw}, {hero} builds an {kw2} that begins to dream.",
        "A {kw} experiment strands {hero} on a failing {kw2}.",
        "When an {kw} fleet reaches orbit, {hero} must decode its message.",
    ),
    "tv_movie": (
        "This {kw} special premiered on a {kw2} to strong ratings.",
        "A {kw} about a small town coming together for the holidays.",
    ),
    "thriller": (
        "{hero} uncovers a {kw} reaching the highest offices of {place}.",
        "With a {kw} running, {hero} must outwit a patient {kw2}.",
        "A {kw} watches {hero}'s every move, and the {kw2} is only beginning.",
        "{hero} wakes beside a stranger and falls into a web of {kw}.",
    ),
    "war": (
        "On the {kw}, a young medic keeps her {kw2} alive through a brutal winter.",
        "A {kw} of exhausted {kw2} holds a bridge outside {place}.",
        "Under {kw}, {hero} joins the {kw2} and risks everything.",
    ),
    "western": (
        "A weary {kw} rides into {place} to settle a debt with an {kw2}.",
        "{hero} defends the family {kw} from a gang of {kw2}.",
        "On a long {kw}, {hero} crosses paths with a legendary {kw2}.",
    ),
    "kids": (
        "In this {kw} series, {hero} and {kw2} learn about sharing.",
        "Each episode the {kw} visit the {kw2} to solve a tiny problem.",
    ),
    "news": (
        "Inside a busy {kw}, {kw2} chase the stories of the week.",
        "The {kw} team breaks down the day's {kw2} from {place}.",
    ),
    "reality": (
        "Twelve {kw} face a weekly {kw2} in {place}.",
        "In this {kw}, strangers share a house and the {kw2} decide who stays.",
    ),
    "soap": (
        "A secret {kw} threatens the {kw2} that rules {place}.",
        "A bitter {kw} over an {kw2} tears the family apart, again.",
    ),
    "talk": (
        "A nightly {kw} where the {kw2} trades jokes with guests.",
        "{hero} hosts a {kw} with {kw2} and a live band.",
    ),
}

NEUTRAL_SENTENCES: tuple[str, ...] = (
    "Nothing will ever be the same for {hero}.",
    "{hero} has a decision to make.",
    "It all begins on an ordinary Tuesday in {place}.",
    "Old friendships are tested along the way.",
    "{hero} and {other} have not spoken in years.",
    "The truth is closer than anyone thinks.",
    "Based on a story by {other}.",
    "Time is running out.",
    "Everyone in {place} has something to hide.",
    "A small choice has large consequences.",
    "{hero} is not who {other} thought.",
    "The past refuses to stay buried.",
)

# Reviewer aspects: what someone praises or criticises for a title of each genre.
GENRE_ASPECTS: dict[str, tuple[str, ...]] = {
    "action": ("the fight choreography", "the stunts", "the car chases"),
    "adventure": ("the sense of adventure", "the locations", "the quest"),
    "animation": ("the animation", "the art style", "the voice cast"),
    "comedy": ("the jokes", "the comic timing", "the humour"),
    "crime": ("the heist", "the crime plot", "the gangster characters"),
    "documentary": ("the interviews", "the research", "the archival footage"),
    "drama": ("the performances", "the emotional story", "the writing"),
    "family": ("the family story", "the kid-friendly humour", "the warmth"),
    "fantasy": ("the world-building", "the magic", "the creature design"),
    "history": ("the period detail", "the historical accuracy", "the costumes"),
    "horror": ("the scares", "the atmosphere of dread", "the jump scares"),
    "music": ("the soundtrack", "the songs", "the concert scenes"),
    "mystery": ("the mystery", "the twists", "the clues"),
    "romance": ("the romance", "the chemistry between the leads", "the love story"),
    "science_fiction": ("the visual effects", "the sci-fi ideas", "the space sequences"),
    "tv_movie": ("the TV production", "the made-for-TV feel"),
    "thriller": ("the suspense", "the tension", "the pacing of the thriller"),
    "war": ("the battle scenes", "the war story", "the depiction of combat"),
    "western": ("the frontier setting", "the gunfights", "the western landscapes"),
    "kids": ("the lessons for kids", "the songs for children", "the gentle tone"),
    "news": ("the reporting", "the news coverage", "the anchors"),
    "reality": ("the contestants", "the challenges", "the reality drama"),
    "soap": ("the melodrama", "the family feuds", "the cliffhangers"),
    "talk": ("the host", "the guest interviews", "the banter"),
}

# Review sentence templates per sentiment band; ``{aspect}`` is a genre aspect.
REVIEW_TEMPLATES: dict[str, tuple[str, ...]] = {
    "awful": (
        "A complete waste of time; {aspect} is dreadful.",
        "I hated it. {Aspect} is embarrassing.",
        "Awful from start to finish and {aspect} makes it worse.",
        "Avoid this one, {aspect} is terrible.",
        "Boring, clumsy and painful to sit through.",
        "One of the worst things I have watched this year.",
    ),
    "poor": (
        "Disappointing overall; {aspect} never works.",
        "{Aspect} is weak and the story drags.",
        "I wanted to like it, but {aspect} is flat.",
        "Mediocre at best; {aspect} is forgettable.",
        "Too long and too dull to recommend.",
    ),
    "mixed": (
        "{Aspect} is decent, though the pacing is uneven.",
        "Some good moments, and {aspect} is fine, but it is not memorable.",
        "An okay watch; {aspect} works more often than not.",
        "Watchable, and {aspect} is solid, but nothing special.",
        "A fair effort that holds together well enough.",
    ),
    "good": (
        "Really enjoyable; {aspect} is excellent.",
        "I loved {aspect}, a great watch.",
        "Very good, {aspect} kept me hooked.",
        "Strong and satisfying; {aspect} is impressive.",
        "Well made and easy to recommend.",
    ),
    "great": (
        "A masterpiece. {Aspect} is brilliant.",
        "Absolutely stunning; {aspect} is perfect.",
        "One of the best I have ever seen, and {aspect} is outstanding.",
        "Superb and unforgettable, I adored {aspect}.",
        "Flawless from start to finish.",
    ),
}

REVIEWER_HANDLES: tuple[str, ...] = (
    "cinephile", "nightowl", "popcorn", "reelfan", "couchcritic", "filmbuff", "bingewatcher",
    "matinee", "screenjunkie", "moviemaven", "plotholes", "credits_roll", "framebyframe",
)
