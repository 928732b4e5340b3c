// The front end's types, for `npm run typecheck` (tsc --checkJs) and editors: the
// model's traits as the kernel writes them (see the trait contract in js/README.md),
// what the panel sends back, and the seams between the panel's parts. JSDoc only:
// nothing here runs and nothing of it is bundled. Import with
// `/** @import { Model, TranscriptEntry } from './types.js' */`.
//
// The code reads every trait defensively all the same (a saved notebook or an older
// kernel may hold anything): these types say what is promised, not what is checked.
export {};

/** @import { AnyModel } from '@anywidget/types' */

// ---------------------------------------------------------------- traits (Python -> JS)

/**
 * The model of one panel: anywidget's model with convowidget's traits.
 * @typedef {AnyModel<Traits>} Model
 */

/**
 * Every synced trait of `convowidget.ChatWidget`.
 * @typedef {object} Traits
 * @property {string} agent_label the header's title
 * @property {boolean} is_demo the local demo agent: a badge and a note say so
 * @property {PanelStatus} status
 * @property {string} error the last error, '' when none
 * @property {TranscriptEntry[]} transcript finished messages, in order
 * @property {TranscriptTail} transcript_tail the messages a turn appended
 * @property {Pending} pending `{}`, or the exchange in flight
 * @property {StreamValue} stream `{}`, or the latest delta of the reply in flight
 * @property {string} _panel_id a stable id per panel (anywidget hands every view a fresh proxy)
 * @property {string} height the conversation's greatest height, a CSS length ('' for 520 px)
 * @property {string[]} suggestions starter prompts, shown until the first message is sent
 * @property {LastAnswer} last_answer the latest finished reply (`{}` before the first)
 * @property {string} _shown_answer written by the panel: the id of the last answer it drew (marimo re-runs on it)
 */

/**
 * @typedef {object} LastAnswer
 * @property {string} [id]
 * @property {string} [prompt]
 * @property {ReplyStatus} [status]
 * @property {string} [text] the first 10,000 characters
 * @property {boolean} [cut]
 */

/** @typedef {'idle' | 'connecting' | 'streaming' | 'error'} PanelStatus */

/** @typedef {UserEntry | AssistantEntry} TranscriptEntry */

/**
 * A message the person sent.
 * @typedef {object} UserEntry
 * @property {string} id
 * @property {'user'} role
 * @property {string} text plain text, shown as typed
 * @property {boolean} [form] a form's values, sent: never edited as text
 * @property {boolean} [editable] (the panel's own) the latest prompt, which Edit may change
 */

/**
 * A reply. Finished ones come from the `transcript`; the one in flight is made by the
 * panel from `pending` and the stream buffer, and has no `status` yet.
 * @typedef {object} AssistantEntry
 * @property {string} id
 * @property {'assistant'} role
 * @property {string} text markdown ('' when the reply is blocks)
 * @property {ReplyStatus} [status]
 * @property {string | null} [error] why it failed
 * @property {Source[]} [sources]
 * @property {boolean} [handoff] the agent asked for a human
 * @property {Block[] | null} [blocks] ui_engine blocks; when not empty `text` stands for them too, and `plain_text` is the rest
 * @property {string} [prompt_id] the id of the user message it answers
 *
 * Keys from `reply_view` in convowidget/reply_view.py (absent from older kernels and
 * saved notebooks):
 * @property {ToolCall[]} [tool_calls]
 * @property {{type: string, text: string}[]} [actions] actions other than handoffs and tool calls
 * @property {string | null} [handoff_payload]
 * @property {Usage} [usage]
 * @property {SourceItem[]} [source_items] the sources with their titles (`sources` stays strings)
 * @property {boolean} [blocks_first] the blocks came before the plain text: draw them first
 * @property {string | null} [plain_text] the plain chunks' text when the reply also has blocks
 *
 * Versions and feedback (convowidget/_answers.py):
 * @property {Version[]} [versions] the earlier answers of this turn, oldest first (Regenerate, Edit)
 * @property {boolean} [greeting] the answer to the greeting (`greet`): no prompt shows
 * @property {Feedback | null} [feedback]
 * @property {string | null} [feedback_note]
 *
 * Set by the panel on an earlier version it shows in the turn's place (versions.js):
 * @property {number} [shown_version] which version is shown (0 = the oldest)
 * @property {string} [entry_id] that version's own id (feedback goes to it)
 */

/** An earlier answer of a turn: its entry, and the prompt it answered. @typedef {AssistantEntry & {prompt: string}} Version */

/** @typedef {'up' | 'down'} Feedback */

/**
 * A tool the agent called: its input and output as pretty JSON text (cut at 20,000
 * characters with a note), `null` when not sent.
 * @typedef {{name: string, input: string | null, output: string | null}} ToolCall
 */

/**
 * The per-reply usage line's numbers, each `null` when unknown.
 * @typedef {{first_chunk_s: number | null, elapsed_s: number | null, input_tokens: number | null,
 *   output_tokens: number | null, model: string | null}} Usage
 */

/** Show the title, else the id, else the URL; linked when the URL is one. @typedef {{url: string | null, title: string | null, id: string | null}} SourceItem */

/** @typedef {'complete' | 'stopped' | 'failed'} ReplyStatus */

/** A source of a reply: a URL or a title, or both. @typedef {string | {url?: string, title?: string, name?: string}} Source */

/**
 * What the last turn appended to the kernel's transcript (merged in by state.js).
 * @typedef {object} TranscriptTail
 * @property {number} [seq]
 * @property {TranscriptEntry[]} [entries]
 */

/**
 * The exchange in flight: the user's message at once, and the id the reply will have.
 * @typedef {object} Pending
 * @property {UserEntry} [user]
 * @property {string} [assistant_id]
 */

/**
 * One `stream` value: a text delta `{id, offset, text}` (offset in code points) or a
 * blocks snapshot `{id, blocks}` for the reply in flight; `{}` between replies.
 * @typedef {object} StreamValue
 * @property {string} [id]
 * @property {number} [offset]
 * @property {string} [text]
 * @property {Block[]} [blocks]
 */

// ---------------------------------------------------------------- ui_engine blocks

/**
 * @typedef {TextBlock | ChoiceBlock | ImageBlock | CardBlock | CarouselBlock | UnsupportedBlock
 *   | FormBlock | InputBlock | IframeBlock | NoticeBlock} Block
 */
/** Markdown. @typedef {{kind: 'text', text: string}} TextBlock */
/** Buttons that send a prompt or open a link. @typedef {{kind: 'choice', buttons: ChoiceButton[]}} ChoiceBlock */
/** @typedef {{kind: 'image', url: string | {url?: string}, alt?: string}} ImageBlock */
/**
 * @typedef {{kind: 'card', title?: string, text?: string, image?: string | {url?: string},
 *   buttons?: ChoiceButton[]}} CardBlock
 */
/** @typedef {{kind: 'carousel', cards: CardBlock[]}} CarouselBlock */
/** A message type the panel does not draw. @typedef {{kind: 'unsupported', type: string}} UnsupportedBlock */

// Forms, inputs, iFrames and notices (see convowidget/ui.py; forms.js and blocks.js draw
// them). Every string is the agent's text: set it as text, never as HTML.

/**
 * @typedef {{kind: 'form', mid: string | null, title: string, description: string, fields: FormField[],
 *   fields_omitted: number, submit: {label: string, style: string}, submitted: boolean,
 *   values: Record<string, string | boolean | null>}} FormBlock
 */
/**
 * @typedef {{kind: 'input', mid: string | null, field: FormField, submit_on_enter: boolean,
 *   submitted: boolean, value: string | boolean | null}} InputBlock
 */
/**
 * A form field. A `secret` (password) field's default and value are always null; a
 * checkbox's are booleans, every other value is text.
 * @typedef {{id: string, type: string, label: string, placeholder: string, required: boolean,
 *   default: string | boolean | null, error_message: string,
 *   options: {value: string, label: string}[],
 *   validation: {minLength?: number, maxLength?: number, min?: number, max?: number, pattern?: string},
 *   secret: boolean}} FormField
 */
/**
 * `url`: an https address, or null (then `text`, the agent's raw value, is shown as
 * text); loaded only on a click.
 * @typedef {{kind: 'iframe', layout: 'vertical' | 'horizontal', url: string | null, host: string, text: string}} IframeBlock
 */
/** @typedef {{kind: 'notice', level: string, text: string}} NoticeBlock */
/**
 * `message`: sent as a prompt; else an http(s) `url`: a link; neither: the label is sent.
 * @typedef {{label: string, message?: string, url?: string}} ChoiceButton
 */

// ---------------------------------------------------------------- messages (JS -> Python)

/**
 * What the panel sends the kernel with `model.send`. `submit_form`: the values typed in
 * the form or input that is block `block` of reply `id` (a checkbox's a boolean, the rest
 * text); the kernel answers a value that does not fit with the custom message
 * `{type: 'form_problems', id, block, problems: {field_id: message}}` (forms.js).
 * `edit`: the latest prompt (`id`) asked again as `text`; `feedback`: on answer `id`, `value`
 * null takes it back; `export`: the kernel answers `{type: 'export', request, filename, mime,
 * text}` (export.js); `save_test`: the kernel appends the conversation up to answer `id` to its
 * suite file and answers `{type: 'test_saved', id, path}` or `{type: 'test_saved', id, error}` (savetest.js).
 * @typedef {{type: 'send', text: string} | {type: 'stop'} | {type: 'retry', id: string}
 *   | {type: 'regenerate', id: string} | {type: 'new_chat'} | {type: 'hello'}
 *   | {type: 'edit', id: string, text: string}
 *   | {type: 'feedback', id: string, value: Feedback | null, note?: string}
 *   | {type: 'export', format: 'markdown' | 'json', request: string} | {type: 'save_test', id: string}
 *   | {type: 'submit_form', id: string, block: number, values: Record<string, string | boolean>}} KernelMessage
 */

// ---------------------------------------------------------------- seams inside the panel

/**
 * What the panel shows, read once per frame from the traits and the connection (view.js),
 * and handed to each part's `update`.
 * @typedef {object} PanelState
 * @property {string} label the agent's title
 * @property {boolean} demo
 * @property {string} status the `status` trait ('idle' when empty)
 * @property {boolean} offline the kernel is certainly gone (connection.js)
 * @property {boolean} busy a reply is in flight (and the kernel is there)
 */

/**
 * What a message (and its blocks) may do: built by view.js, given to every message view.
 * `send` is false when nothing went out (busy, or the kernel is gone).
 * @typedef {object} MessageContext
 * @property {(text: string) => boolean} send ask a new prompt (a choice button)
 * @property {(id: string) => void} retry ask a failed reply again
 * @property {(id: string) => void} regenerate ask the latest reply again
 * @property {(id: string, block: number, values: Record<string, string | boolean>) => boolean} submit
 *   send a form's values (block `block` of reply `id`)
 * @property {(id: string, text: string) => void} edit put the latest prompt back in the box to edit it
 * @property {(id: string, value: Feedback | null, note?: string) => boolean} feedback Helpful / Not helpful on answer `id`
 * @property {(id: string) => boolean} saveTest Save as test: the conversation up to answer `id`, appended to the suite file
 * @property {(id: string, index: number) => void} showVersion show version `index` of turn `id` (this view only)
 * @property {(text: string) => void} announce say something to screen readers ("Code copied")
 */
