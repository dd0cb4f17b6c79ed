/**
 * The offline service's "chat": a few rules, no model. It says what it heard ("You said: …"), and
 * has canned answers for the time, the date, a greeting and thanks. Text in, text out, no state.
 */

/** Spoken when the recogniser heard no words (an answer, not an error). */
export const DID_NOT_CATCH = "Sorry, I didn't catch that.";

export interface LocalChatContext {
  /** The clock the time and date answers read (local time zone). */
  now: Date;
}

interface Rule {
  name: string;
  test: RegExp;
  answer(heard: string, ctx: LocalChatContext): string;
}

function clock(d: Date): string {
  const h = d.getHours();
  const m = d.getMinutes();
  return `${h % 12 === 0 ? 12 : h % 12}:${String(m).padStart(2, '0')} ${h < 12 ? 'AM' : 'PM'}`;
}

function day(d: Date): string {
  return d.toLocaleDateString('en-US', { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
}

/** First match wins; the recogniser writes lower-case words without punctuation. */
export const LOCAL_CHAT_RULES: readonly Rule[] = [
  {
    name: 'time',
    test: /\bwhat time\b|\btime is it\b|\bthe time\b/,
    answer: (_h, ctx) => `It is ${clock(ctx.now)}.`,
  },
  {
    name: 'date',
    test: /\b(what|which) day\b|\bthe date\b|\bwhat date\b|\btoday'?s date\b/,
    answer: (_h, ctx) => `Today is ${day(ctx.now)}.`,
  },
  {
    name: 'greeting',
    test: /^(hello|hi|hey|good (morning|afternoon|evening))\b/,
    answer: () => 'Hello! I am the offline Budlink assistant. Ask me the time or the date.',
  },
  {
    name: 'thanks',
    test: /\b(thank you|thanks)\b/,
    answer: () => "You're welcome.",
  },
];

/** What the recogniser's words look like to the rules: lower case, single spaces, no punctuation. */
export function normaliseHeard(heard: string): string {
  return heard
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The reply to `heard` (the rule that answered is `rule`: 'echo' when none did, 'empty' for nothing). */
export function localReply(heard: string, ctx: LocalChatContext): { text: string; rule: string } {
  const words = normaliseHeard(heard);
  if (words === '') return { text: DID_NOT_CATCH, rule: 'empty' };
  for (const r of LOCAL_CHAT_RULES)
    if (r.test.test(words)) return { text: r.answer(words, ctx), rule: r.name };
  return { text: `You said: ${words}.`, rule: 'echo' };
}
