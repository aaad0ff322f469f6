// The pages' one stylesheet. Every pane holds its own scrolling, and long words wrap: nothing an
// agent or a user writes can push a pane wider than its column.
export const STYLE = `
:root {
  --ink: #1d2330; --muted: #5d6677; --line: #dde1e8; --bg: #f4f5f8; --pane: #fff;
  --accent: #2f5bd3; --bot: #eef1f6; --user: #2f5bd3; --agent: #e6f4ea; --note: #fff5d6; --notice: #fde8e8;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { overflow: hidden; }
#app { height: 100%; display: flex; flex-direction: column; min-width: 0; }
[hidden] { display: none !important; }
button { font: inherit; border: 1px solid var(--line); background: #fff; color: var(--ink); border-radius: 6px; padding: 4px 10px; cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.note { background: var(--note); }
input, textarea { font: inherit; border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; width: 100%; min-width: 0; }
textarea { resize: vertical; }
.label { color: var(--muted); text-transform: uppercase; font-size: 11px; letter-spacing: .05em; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; background: var(--bot); font-weight: 600; font-size: 12px; }
.badge[data-mode=LIVECHAT], .badge[data-status=open] { background: var(--agent); color: #1e6b35; }
.badge[data-status=closed] { background: #eceef2; color: var(--muted); }
.tag { font-size: 12px; color: var(--muted); border: 1px solid var(--line); border-radius: 10px; padding: 0 6px; }
.problem { margin: 0; padding: 6px 16px; background: var(--notice); color: #8a1c1c; overflow-wrap: anywhere; }

.topbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px; padding: 8px 16px; background: var(--pane); border-bottom: 1px solid var(--line); }
.topbar h1 { font-size: 16px; margin: 0; }
.bridge-state, .clock { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; min-width: 0; }
#clock-now { font-variant-numeric: tabular-nums; font-weight: 600; }
#clock-ahead, #bridge-deadline { color: var(--muted); font-variant-numeric: tabular-nums; }
.foot { padding: 4px 16px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); background: var(--pane); overflow-wrap: anywhere; }
.foot a { color: var(--accent); }

.panes { flex: 1; display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); gap: 12px; padding: 12px; min-height: 0; }
.pane { background: var(--pane); border: 1px solid var(--line); border-radius: 10px; display: flex; flex-direction: column; min-height: 0; min-width: 0; overflow: hidden; }
.pane-head { display: flex; align-items: baseline; gap: 8px; padding: 8px 12px; border-bottom: 1px solid var(--line); min-width: 0; }
.pane-head h2 { font-size: 15px; margin: 0; }
.pane-head .sub, .whoami { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; min-width: 0; }
.whoami { margin-left: auto; }

.chat-log { list-style: none; margin: 0; padding: 12px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 8px; min-height: 0; }
.line { max-width: 85%; padding: 6px 10px; border-radius: 10px; background: var(--bot); align-self: flex-start; min-width: 0; }
.line .text, .msg .body { white-space: pre-wrap; overflow-wrap: anywhere; }
.line .who, .msg .who { display: flex; gap: 8px; justify-content: space-between; font-size: 11px; color: var(--muted); }
.line.user { align-self: flex-end; background: var(--user); color: #fff; }
.line.user .who { color: #dfe6fb; }
.line.agent { background: var(--agent); }
.line.bridge { background: var(--notice); }
.line.event { align-self: stretch; max-width: none; background: none; text-align: center; color: var(--muted); font-size: 12px; padding: 2px; border-top: 1px dashed var(--line); overflow-wrap: anywhere; }
.choices { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.choice { background: #fff; border-color: var(--accent); color: var(--accent); max-width: 100%; overflow-wrap: anywhere; }
.compose { display: flex; gap: 8px; padding: 8px 12px; border-top: 1px solid var(--line); }

.desk-body { flex: 1; display: grid; grid-template-columns: minmax(0, 0.8fr) minmax(0, 2.6fr); min-height: 0; }
.tickets { border-right: 1px solid var(--line); overflow-y: auto; min-width: 0; }
.tickets h3 { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; margin: 8px 10px; }
.ticket-list { list-style: none; margin: 0; padding: 0; }
.ticket-list .none, .ticket-list .group { padding: 4px 10px; color: var(--muted); font-size: 12px; }
.ticket-item button { display: flex; flex-direction: column; align-items: flex-start; width: 100%; border: 0; border-radius: 0; padding: 6px 10px; text-align: left; background: none; min-width: 0; }
.ticket-item[aria-current=true] button { background: #eaf0ff; }
.ticket-item[data-status=closed] button { color: var(--muted); }
.ticket-subject, .ticket-sub { overflow-wrap: anywhere; max-width: 100%; }
.ticket-sub { font-size: 11px; color: var(--muted); }
.ticket-id { font-weight: 600; }
.ticket-pane { display: flex; flex-direction: column; min-height: 0; min-width: 0; }
.ticket { flex: 1; display: flex; flex-direction: column; min-height: 0; min-width: 0; }
.ticket .empty { color: var(--muted); padding: 12px; }
.ticket-head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; padding: 8px 12px 0; min-width: 0; }
.ticket-head h3 { font-size: 14px; margin: 0; overflow-wrap: anywhere; min-width: 0; }
.ticket-meta { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 230px), 1fr)); gap: 4px 10px; margin: 6px 12px; padding: 6px 8px; background: var(--bg); border-radius: 6px; font-size: 12px; max-height: 8.5em; overflow-y: auto; }
.meta-group { min-width: 0; }
.meta-group h4 { margin: 0 0 2px; font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.meta-group p { margin: 0; color: var(--muted); }
.ticket-meta dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0 8px; margin: 0; }
.ticket-meta dt { color: var(--muted); }
.ticket-meta dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
.messages { list-style: none; margin: 0; padding: 6px 12px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 6px; min-height: 0; }
.msg { padding: 6px 10px; border-radius: 8px; border: 1px solid var(--line); min-width: 0; }
.msg.agent { background: var(--agent); border-color: #c9e6d2; }
.msg.note { background: var(--note); border-color: #f0dd9c; }
.reply { padding: 8px 12px; border-top: 1px solid var(--line); display: flex; flex-direction: column; gap: 6px; }
.reply .actions { display: flex; flex-wrap: wrap; gap: 6px; }
.desk-status { margin: 0; padding: 2px 12px 6px; font-size: 12px; color: var(--muted); min-height: 1.4em; overflow-wrap: anywhere; }
.desk-status[data-kind=error] { color: #8a1c1c; }

.desk-page { height: 100%; display: flex; flex-direction: column; padding: 12px; gap: 8px; }
.desk-page .pane { flex: 1; }
.sign-out { align-self: flex-end; }
.sign-in { max-width: 420px; margin: 10vh auto; background: var(--pane); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; display: flex; flex-direction: column; gap: 10px; }
.sign-in h1 { font-size: 18px; margin: 0; }
.sign-in label { display: flex; flex-direction: column; gap: 2px; color: var(--muted); font-size: 12px; }
`;
