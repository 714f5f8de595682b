/** The inbox pages of `baton serve`: plain server-rendered HTML with forms, no script, every value escaped. */
import { escapeHtml as h } from './http.js';
import type { Inbox, InboxApproval, InboxQuestion } from './desk.js';
import type { Session } from './sessions.js';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ddd;margin-bottom:1rem}
article{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:20rem}
dt{font-weight:600}dd{margin:0 0 .4rem 0}textarea{width:100%;min-height:3rem}
.notice{background:#eef6ee;padding:.5rem}.error{background:#fbeaea;padding:.5rem}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${h(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function header(session: Session, groups: string[]): string {
  return `<header><h1>Baton approvals</h1><div>Signed in as <strong data-testid="me">${h(session.subject)}</strong>
${groups.length ? `(${h(groups.join(', '))})` : ''}
<form method="post" action="/logout" style="display:inline"><input type="hidden" name="csrf" value="${h(session.csrf)}"><button>Sign out</button></form></div></header>`;
}

function json(value: unknown): string {
  return h(JSON.stringify(value, null, 2) ?? 'null');
}

function approval(a: InboxApproval, session: Session, uiLink: (goalId: string) => string): string {
  const votes = a.votes.length
    ? a.votes.map((v) => `${h(v.by)}: ${h(v.decision)}${v.comment ? ` (${h(v.comment)})` : ''}`).join('; ')
    : 'none yet';
  return `<article data-approval="${h(a.goalId)}/${h(a.id)}">
<h2>${h(a.goal)}: ${h(a.tool)} <small>${h(a.id)}</small></h2>
<dl>
<dt>Goal</dt><dd><a href="${h(uiLink(a.goalId))}">${h(a.goalId)}</a> (started by ${h(a.startedBy)})</dd>
<dt>Tool and arguments</dt><dd><code>${h(a.tool)}</code><pre>${json(a.args)}</pre></dd>
<dt>The agent's reason</dt><dd>${h(a.reason || '(none given)')} (agent ${h(a.requestedBy)})</dd>
<dt>Policy</dt><dd>approvers ${h(a.approvers.join(', '))}; quorum ${a.quorum}; ${a.condition ? `needed because <code>${h(a.condition)}</code> held` : 'always needed'}</dd>
<dt>Deadline</dt><dd>${h(a.deadline ?? 'none')}</dd>
<dt>Votes</dt><dd>${votes}</dd>
</dl>
<form method="post" action="/decide">
<input type="hidden" name="csrf" value="${h(session.csrf)}">
<input type="hidden" name="goal" value="${h(a.goalId)}"><input type="hidden" name="approval" value="${h(a.id)}">
<label>Comment <textarea name="comment" maxlength="2000"></textarea></label>
<button name="decision" value="approve">Approve</button> <button name="decision" value="reject">Reject</button>
</form></article>`;
}

function question(q: InboxQuestion, session: Session, uiLink: (goalId: string) => string): string {
  return `<article data-question="${h(q.goalId)}/${h(q.id)}">
<h2>${h(q.goal)}: question <small>${h(q.id)}</small></h2>
<dl><dt>Goal</dt><dd><a href="${h(uiLink(q.goalId))}">${h(q.goalId)}</a></dd>
<dt>${h(q.agent)} asks</dt><dd>${h(q.question)}</dd><dt>Deadline</dt><dd>${h(q.deadline ?? 'none')}</dd></dl>
<form method="post" action="/reply">
<input type="hidden" name="csrf" value="${h(session.csrf)}">
<input type="hidden" name="goal" value="${h(q.goalId)}"><input type="hidden" name="question" value="${h(q.id)}">
<label>Answer <textarea name="answer" required maxlength="4000"></textarea></label> <button>Send answer</button>
</form></article>`;
}

/** The inbox: what waits on the signed-in person, with a notice from the last action. */
export function inboxPage(
  session: Session,
  groups: string[],
  inbox: Inbox,
  uiLink: (goalId: string) => string,
  flash?: { kind: 'notice' | 'error'; text: string },
): string {
  const items = [
    ...inbox.approvals.map((a) => approval(a, session, uiLink)),
    ...inbox.questions.map((q) => question(q, session, uiLink)),
  ];
  const failures = inbox.failures.map((f) => `<li>${h(f.goalId)}: ${h(f.error)}</li>`).join('');
  return page(
    'Baton approvals',
    `${header(session, groups)}
${flash ? `<p class="${flash.kind}" role="status">${h(flash.text)}</p>` : ''}
${items.length ? items.join('\n') : '<p data-testid="empty">Nothing waits on you.</p>'}
${failures ? `<p class="error">Some goals could not be read:</p><ul>${failures}</ul>` : ''}`,
  );
}

/** Confirms a CLI sign-in in the browser. */
export function devicePage(session: Session, userCode: string, client: string): string {
  return page(
    'Sign in the Baton CLI',
    `<h1>Sign in the Baton CLI</h1><p>${h(client)} asks to act as <strong>${h(session.subject)}</strong>. Code <code>${h(userCode)}</code>: check it matches what your terminal shows.</p>
<form method="post" action="/device"><input type="hidden" name="csrf" value="${h(session.csrf)}"><input type="hidden" name="code" value="${h(userCode)}"><button>Allow</button></form>`,
  );
}

/** A plain message page. */
export function messagePage(title: string, text: string): string {
  return page(title, `<h1>${h(title)}</h1><p>${h(text)}</p><p><a href="/">Back to the inbox</a></p>`);
}
