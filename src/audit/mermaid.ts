/**
 * A goal's audit trail as a Mermaid sequence diagram (renders in GitHub, GitLab and most Markdown viewers): who
 * started it, each agent's model calls and tool calls, approvals and the people who decided them, waits, and the
 * result, each arrow with its time (UTC). It reads the same entries `baton audit` prints; nothing else.
 */
import type { AuditEntry } from './entry.js';

/** Text a Mermaid message can hold: one line, none of the characters its grammar reserves, cut at `max`. */
function label(text: string, max = 90): string {
  const one = text
    .replace(/\s+/g, ' ')
    .replace(/[;#]/g, ',')
    .replace(/[<>{}]/g, (c) => ({ '<': '‹', '>': '›', '{': '(', '}': ')' })[c] ?? c)
    .trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function time(at: string): string {
  return at.slice(11, 19);
}

/** Participants in order of first appearance, each with a safe Mermaid id. */
class Cast {
  private readonly ids = new Map<string, string>();
  readonly lines: string[] = [];

  id(name: string, kind: 'participant' | 'actor' = 'participant'): string {
    let id = this.ids.get(name);
    if (!id) {
      id = `P${this.ids.size + 1}`;
      this.ids.set(name, id);
      this.lines.push(`  ${kind} ${id} as ${label(name, 40)}`);
    }
    return id;
  }
}

function who(actor: string): { name: string; person: boolean } {
  if (actor.startsWith('user:')) return { name: actor.slice(5), person: true };
  // A name that was only claimed (audit/identity.ts) stays labelled in the picture too.
  if (actor.startsWith('unverified:')) return { name: `${actor.slice(11)} (unverified)`, person: true };
  if (actor.startsWith('agent:')) return { name: `agent ${actor.slice(6)}`, person: false };
  if (actor === 'baton') return { name: 'Baton', person: false };
  return { name: actor, person: true };
}

/** The diagram as a fenced ```mermaid block. */
export function renderMermaid(entries: readonly AuditEntry[]): string {
  const cast = new Cast();
  const body: string[] = [];
  const baton = (): string => cast.id('Baton');
  const from = (actor: string): string => {
    const w = who(actor);
    return cast.id(w.name, w.person ? 'actor' : 'participant');
  };
  let starter: string | undefined;
  for (const e of entries) {
    const at = time(e.at);
    switch (e.kind) {
      case 'goal.started':
        starter = from(e.actor);
        body.push(`  ${starter}->>${baton()}: ${at} ${label(e.summary, 80)}`);
        break;
      case 'model.call': {
        const agent = from(e.actor);
        const model = cast.id(`model ${typeof e.data.model === 'string' ? e.data.model : ''}`.trim());
        body.push(
          `  ${agent}->>${model}: ${at} step`,
          `  ${model}-->>${agent}: ${label(e.summary.replace(/^.*?: /, ''))}`,
        );
        break;
      }
      case 'tool.call': {
        const agent = from(e.actor);
        const tool = cast.id(`tool ${typeof e.data.tool === 'string' ? e.data.tool : '?'}`);
        body.push(`  ${agent}->>${tool}: ${at} ${label(e.summary.replace(/^.*?: /, ''))}`);
        break;
      }
      case 'approval.requested':
        body.push(`  ${from(e.actor)}->>${baton()}: ${at} asks approval ${label(e.summary)}`);
        break;
      case 'approval.decision':
        body.push(`  ${from(e.actor)}->>${baton()}: ${at} ${label(e.summary)}`);
        break;
      case 'approval.reminder':
      case 'approval.escalation':
      case 'approval.timeout':
      case 'timer':
      case 'budget.exceeded':
      case 'run.continued':
        body.push(`  Note over ${baton()}: ${at} ${label(e.summary)}`);
        break;
      case 'child.started':
      case 'child.finished':
      case 'goal.cancel_requested':
      case 'signal':
      case 'update':
        body.push(`  ${from(e.actor)}->>${baton()}: ${at} ${label(e.summary)}`);
        break;
      case 'goal.finished':
        body.push(`  ${baton()}-->>${starter ?? baton()}: ${at} ${label(e.summary)}`);
        break;
      default:
        break;
    }
  }
  return ['```mermaid', 'sequenceDiagram', ...cast.lines, ...body, '```'].join('\n');
}
