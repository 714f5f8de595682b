/** Rules for `ask_human` questions as pure functions: who may answer, and why a reply is refused. */
import type { HumanReply, QuestionRecord } from './definitions.js';

/** Why a reply cannot be considered at all (malformed, unknown or settled question), before its sender is verified. */
export function pendingReplyRefusal(questions: readonly QuestionRecord[], r: HumanReply): string | undefined {
  if (!r || typeof r !== 'object') return 'the payload must be {"questionId", "answer", "assertion"}';
  if (typeof r.answer !== 'string' || r.answer.trim() === '') return 'answer must be non-empty text';
  const q = questions.find((x) => x.id === r.questionId);
  if (!q) {
    const open = questions.filter((x) => x.status === 'pending').map((x) => x.id);
    return `no question "${String(r.questionId)}" in this goal; open questions: ${open.join(', ') || 'none'}`;
  }
  if (q.status !== 'pending') return `question ${q.id} is already ${q.status.replace('_', ' ')}`;
  return undefined;
}

/**
 * Why a reply cannot be accepted, or undefined when it can, for goals recorded before verified identity. Messages
 * name the problem and what to do.
 */
export function replyRefusalReason(questions: readonly QuestionRecord[], r: HumanReply): string | undefined {
  if (!r || typeof r !== 'object') return 'the payload must be {"questionId", "answer", "by"}';
  if (typeof r.by !== 'string' || r.by.trim() === '') return 'by must name who answers (set BATON_USER)';
  if (typeof r.answer !== 'string' || r.answer.trim() === '') return 'answer must be non-empty text';
  const q = questions.find((x) => x.id === r.questionId);
  if (!q) {
    const open = questions.filter((x) => x.status === 'pending').map((x) => x.id);
    return `no question "${String(r.questionId)}" in this goal; open questions: ${open.join(', ') || 'none'}`;
  }
  if (q.status !== 'pending') return `question ${q.id} is already ${q.status.replace('_', ' ')}`;
  if (!q.eligible.includes(r.by) && !q.eligible.includes('*')) {
    return `${r.by} may not answer question ${q.id}; it was asked of ${q.eligible.join(', ')}`;
  }
  return undefined;
}
