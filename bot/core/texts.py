"""Every member-facing sentence in one place, each saying what to do next."""

# Every command, as (what to type with /dva, as Discord's named options show it, what it does).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("quiz [topic]", "quiz topic:<topic>",
     "a practice question you have not seen lately (a service such as lambda, a domain 1-4 or a task such as 2.1; "
     "none: your weakest task)"),
    ("review", "review next", "the questions you got wrong, again just before you would forget them"),
    ("review remind on HH:MM` | `off", "review remind state:on time:HH:MM",
     "one private reminder on days with reviews due"),
    ("stats` | `stats group", "stats scope:group", "your points, streak and readiness by domain; or the channel's"),
    ("scenario <words>", "scenario words:<words>", "what to do when... (e.g. cors error)"),
    ("fact <words>", "fact words:<words>", "exam numbers (e.g. lambda timeout)"),
    ("streak", "streak", "your streak and freezes"),
    ("leaderboard [week|month|all] [here|workspace]", "leaderboard period:<week> scope:<here>", "the rankings"),
    ("timezone <IANA name>", "timezone name:<Europe/Berlin>", "your time zone for streak days"),
    ("report <question id> [wrong-key|unclear|outdated|typo] <text>", "report question:<id> reason:<...> details:<text>",
     "report a question (or press *Report* under feedback and reveals)"),
    ("daily status", "daily status", "this channel's schedule, next post and reveal"),
    ("daily on HH:MM <IANA tz> [daily|weekdays|mon,wed,fri] [reveal HH:MM]",
     "daily on time:09:00 timezone:Europe/Berlin days:weekdays reveal:17:00",
     "schedule this channel's daily question (admins)"),
    ("daily off", "daily off", "stop it (admins)"),
    ("daily digest on|off", "daily digest state:on", "the weekly digest before the week's first post (admins)"),
    ("daily ping <@role>|here|off", "daily ping role:<@role> everyone_here:here", "whom the post notifies (admins)"),
    ("reports` | `reports close <question id> fixed|dismissed", "reports close:<id> status:fixed",
     "open question reports, and closing them (admins)"),
    ("exam [full|short]` | `exam status|stop|history", "exam action:<full>",
     "a timed mock exam in private (65 questions in 130 minutes, or 20 in 40), scored with a report. Exam answers "
     "update your review cards and stats but earn no leaderboard points and do not count for your streak"),
)


def help_text(platform: str = "") -> str:
    """`/dva help` as the platform shows commands: Discord with its named options."""
    discord = platform == "discord"
    lines = ["*studybot: daily AWS DVA-C02 practice*"]
    for typed, named, what in COMMANDS:
        lines.append(f"`/dva {named if discord else typed}`: {what}")
    return "\n".join(lines)


HELP = help_text()

TOO_LONG = "That is {n} characters; keep a command under {limit} characters."
EMPTY_LOOKUP = "Tell me what to look up, for example `/dva {kind} {example}`."
NO_MATCH = "Nothing in the bank matches '{query}'. Try other words, e.g. a service name and a symptom."
UNKNOWN_TOPIC = (
    "Unknown topic '{topic}'.{hint} Use a service slug (lambda, dynamodb, s3, ...), a domain 1-4, "
    "or a task statement such as 1.2 or 2.1."
)
BAD_TIME = "The time must be HH:MM, 00:00-23:59 (for example 09:00)."
BAD_TZ = "Unknown time zone '{tz}'.{hint} Use an IANA name such as Europe/Berlin or America/New_York."
FIXED_OFFSET = (
    "Note: {tz} has a fixed offset and no daylight saving time, so local times drift by an hour for half "
    "the year. Use {city} instead if that is where the group is."
)
REVEAL_SAME_TIME = "The reveal cannot be at the post time ({time}); pick a later time, e.g. `reveal 17:00`."
BAD_DAYS = "Days must be daily, weekdays, weekends or names like mon,wed,fri (not '{days}')."
DAILY_USAGE = "Usage: `/dva daily on HH:MM <IANA tz> [daily|weekdays|mon,wed,fri] [reveal HH:MM]`, `/dva daily off` or `/dva daily status`."
LEADERBOARD_USAGE = "Usage: `/dva leaderboard [week|month|all] [here|workspace]`."
TIMEZONE_USAGE = "Usage: `/dva timezone <IANA name>`, for example `/dva timezone Europe/Berlin`."
TIMEZONE_SET = "Your time zone is now {tz}. Your streak days start at 04:00 there."
TIMEZONE_IS = "Your time zone is {tz}{source}. Change it with `/dva timezone <IANA name>`."

NOT_AN_OPTION = "'{given}' is not an option of this question; answer with {letters}."
CHOOSE_N = "This question asks for {n} options; pick exactly {n}, for example `{example}`."
ALREADY = "You already answered {choice}. Only your first answer counts."
EXPIRED = "This question is no longer available. Try `/dva quiz` for a fresh one."
NOT_RECORDED = "Your answer was not recorded because of a storage problem; please try again in a moment."
RIGHT = "Right! {key} {verb} correct."
WRONG = "Not quite: you chose {choice}; the answer is {key}."
LATE_LABEL = "{letter} (late)"
PICK_N = "Pick {n} options, then submit."
ANSWER_WITH_BUTTONS = "Answer privately with the buttons."
REVEALED_FOOTER = (
    "The answer is {key}. {right} of {total} answered right. You can still answer: late answers are practice, "
    "privately as always."
)
AFTER_REVEAL = "This question has been revealed, so this answer is practice only."
EARNED = "+{points}{practice}. Streak: {streak}{freezes}."
STREAK_ONLY = "Streak: {streak}{freezes}."

NO_DAILY_HERE = "No daily question is scheduled here. An admin can start one with `/dva daily on 09:00 Europe/Berlin weekdays`."
DAILY_SET = "Daily question scheduled at {time} {tz} {days}; the answer is revealed at {reveal}{next_day}."
REVEAL_SOON = "Note: that gives members only {gap} to answer before the reveal."
DAILY_OFF = "The daily question is off for this channel. Streaks and points are kept."
DAILY_STATUS = (
    "Daily question: {state}, at {time} {tz} {days}; the answer is revealed at {reveal}{next_day}.\n"
    "{next}Weekly digest: {digest}. Ping: {ping}.{error}"
)
DAILY_NEXT = "Next post: {post}; its reveal: {reveal} ({tz}).\n"
DAILY_PING_USAGE = "Usage: `/dva daily ping <@role>|here|off` (admins): whom the daily post notifies."
DAILY_PING_SET = "Daily posts here will now notify {who}."
DAILY_PING_OFF = "Daily posts here will not notify anyone (members still see them in the channel)."
DISCUSS = "Discuss here - no spoilers until the reveal at {reveal}."
ADMIN_ONLY = "Only {who} can change this channel's schedule; ask one of them, or `/dva daily status` to see it."
ADMINS_BY_PLATFORM = {
    "slack": "workspace admins and owners",
    "discord": "members with the Manage Server permission",
}

NO_QUESTION_FOR_TOPIC = "No question in the bank is tagged '{topic}' yet."
UNKNOWN_COMMAND = "Unknown command '{word}'.{hint} `/dva help` lists every command."

REPORT_REASONS = {"wrong-key": "wrong key", "unclear": "unclear", "outdated": "outdated", "typo": "typo"}
REPORT_USAGE = (
    "Usage: `/dva report <question id> [wrong-key|unclear|outdated|typo] <what is wrong>`, e.g. "
    "`/dva report lam-001 wrong-key B is right because ...`."
)
REPORT_UNKNOWN_QUESTION = "There is no question '{qid}' in the bank. The id is in the answer's feedback and the reveal."
REPORT_THANKS = "Thank you: your report of question {qid} ({reason}) is stored for the maintainers of the bank."
REPORT_ALREADY = "You have already reported question {qid}; the maintainers will look at it. Thank you."
REPORT_PROMPT = "Report question {qid}: {usage}"
REPORTS_USAGE = "Usage: `/dva reports` (admins) or `/dva reports close <question id> fixed|dismissed`."
REPORTS_NONE = "No open question reports. Members report with the *Report* button under feedback and reveals."
REPORTS_ADMIN_ONLY = "Only {who} can see and close question reports."
REPORTS_CLOSED = "Closed {n} as {status} for question {qid}."
REPORTS_NOTHING_OPEN = "There are no open reports of question {qid}."

REVIEW_USAGE = "Usage: `/dva review`, or `/dva review remind on HH:MM` / `/dva review remind off`."
REVIEW_EMPTY = (
    "Nothing to review yet: every question you answer (daily, quiz) becomes a review card, and the ones "
    "you miss come back here. Start with a quiz on your weakest task:"
)
REVIEW_NONE_DUE = "Nothing is due right now. Your next review card is due {when}. Meanwhile:"
REVIEW_NONE_DUE_NO_NEXT = "Nothing is due right now. Meanwhile:"
REVIEW_DONE = "That was the last review due.{when}"
COMES_BACK = "This question comes back for review {when}."
REMIND_ON = "I will send you one private reminder at {time} ({tz}) on days when reviews are due. `/dva review remind off` stops it."
REMIND_OFF = "Review reminders are off."
REMIND_STATE = "Review reminders are {state}. `/dva review remind on HH:MM` or `/dva review remind off`."
REMINDER = "You have {n} review card{s} due. A few minutes now keeps them from slipping."
STATS_USAGE = "Usage: `/dva stats`, `/dva stats group`, or `/dva stats @member` (admins)."
STATS_ADMIN_ONLY = "Only {who} can see another member's stats."

# ----- mock exam (bot/core/exam.py) -----------------------------------------------------------
EXAM_CHOOSE = (
    "A timed mock exam, private to you. *Full*: {full_n} questions in {full_time}, like the real DVA-C02. "
    "*Short*: {short_n} questions in {short_time}. Questions follow the exam's domain weights and about one in "
    "five asks for two or more answers. Flag questions, go back and change answers until you submit; the clock "
    "runs on even if you leave, and the exam is scored at its deadline."
)
EXAM_NO_POINTS = (
    "Exam answers update your review cards and stats; they earn no leaderboard points and do not count for "
    "your streak."
)
EXAM_USAGE = (
    "Usage: `/dva exam full` or `/dva exam short` to start; `/dva exam status`, `/dva exam stop`, "
    "`/dva exam history`, `/dva exam report`, `/dva exam review [page]`; while it runs `/dva exam back`, "
    "`/dva exam next`, `/dva exam flag`, `/dva exam answer <letters>`, `/dva exam submit`."
)
EXAM_STARTED = "Your {mode} exam has started: {total} questions, {time}. It ends at {deadline}, whether or not you are here."
EXAM_SMALL_BANK = "The bank has only {n} questions for this exam, so it is shorter, with the same time per question."
EXAM_RUNNING = (
    "You already have a {mode} exam running ({left} left). Carry on below, or `/dva exam stop` to abandon it."
)
EXAM_NONE = (
    "You have no exam running. Start one with `/dva exam short` (20 questions, 40 minutes) or `/dva exam full` "
    "(65 questions, 130 minutes)."
)
EXAM_STATUS = (
    "Your {mode} exam: question {n} of {total} on screen, {answered} answered, {flagged} flagged, {left} left "
    "(it ends at {deadline})."
)
EXAM_STALE = (
    "That click was on question {clicked}, which is no longer the one on screen; nothing changed. "
    "Here is where you are."
)
EXAM_OVER = (
    "That exam is over ({how}); your click changed nothing. `/dva exam report` shows its report; "
    "`/dva exam short` or `/dva exam full` starts a new one."
)
EXAM_OVER_HOW = {"submitted": "submitted", "expired": "time ran out", "abandoned": "stopped"}
EXAM_GONE = "This exam is not available. Start one with `/dva exam short` or `/dva exam full`."
EXAM_TIME_UP = "Time is up: your exam ended at its deadline, {deadline}. Unanswered questions count as wrong."
EXAM_TIME_UP_LATE = "Your last click came after the deadline and was not counted."
EXAM_ALREADY_SUBMITTED = "Your exam was already submitted; here is its report."
EXAM_CONFIRM = (
    "{unanswered} unanswered (they count as wrong) and {flagged} flagged for review; {left} left. "
    "Submit now, or go back to the exam."
)
EXAM_CONFIRM_CONSOLE = "Or type `/dva exam submit now`."
EXAM_END = "End of the exam: {answered} of {total} answered, {flagged} flagged. Go back to change answers, or submit."
EXAM_AT_END = "No question is on screen: you are at the end of the exam. Go back, or submit."
EXAM_STOPPED = (
    "Exam stopped: nothing was scored and your review cards did not move. Start a new one with "
    "`/dva exam short` or `/dva exam full`."
)
EXAM_NO_REPORT = "You have no scored exam yet. Start one with `/dva exam short` or `/dva exam full`."
EXAM_NO_HISTORY = "No mock exams yet. Start one with `/dva exam short` (20 questions, 40 minutes)."
EXAM_REVIEW_WHILE_ACTIVE = "Answers and explanations are shown after you submit. Finish the exam first."
EXAM_PREVIOUS_SCORED = "Your previous exam ended at its deadline and was scored; `/dva exam report` shows it."
EXAM_MISSING_QUESTION = "(This question was removed from the bank while your exam ran; it counts as wrong. Skip it.)"
EXAM_SCALED = (
    "Scaled score estimate: *{scaled}* on 100-1000. Only an estimate, drawn so that studybot's pass mark (72 % "
    "right) reads 720, where the real exam passes: AWS does not publish how it scales scores."
)
EXAM_NOT_SAVED = "Your exam could not be saved because of a storage problem; nothing changed. Please try again in a moment."
