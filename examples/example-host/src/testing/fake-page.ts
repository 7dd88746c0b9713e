// Runs the pages' script, as the server serves it, against a real server, with the little of a DOM it uses.
import { runInNewContext } from 'node:vm';

/** An element as the pages' script uses it: text, value, visibility, children, attributes and listeners. */
export class FakeElement {
  value = '';
  hidden = false;
  type = '';
  className = '';
  readonly style: Record<string, string> = {};
  readonly children: FakeElement[] = [];
  private text = '';
  private readonly attributes = new Map<string, string>();
  private readonly listeners = new Map<string, Array<(event: unknown) => void>>();
  private readonly classes = new Set<string>();
  readonly classList = {
    add: (name: string) => void this.classes.add(name),
    remove: (name: string) => void this.classes.delete(name),
    contains: (name: string) => this.classes.has(name),
  };

  get textContent(): string {
    return this.text + this.children.map((child) => child.textContent).join('');
  }
  set textContent(text: string) {
    this.text = text;
    this.children.length = 0;
  }
  appendChild(child: FakeElement): FakeElement {
    this.children.push(child);
    return child;
  }
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  focus(): void {}
  addEventListener(type: string, listener: (event: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  /** What a user's click or a form's submission does: every listener runs, told not to navigate. */
  dispatch(type: 'click' | 'submit'): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ preventDefault: () => {} });
  }
}

/**
 * One page of the guide loaded in a fake browser tab, its script running against `origin`. Each element starts
 * hidden or not as the page's HTML has it (its `hidden` attribute).
 */
export function loadPage(script: string, page: { path: string; html: string }, origin: string, storedItems: Record<string, string> = {}) {
  const byId = new Map<string, FakeElement>();
  const bySelector = new Map<string, FakeElement>();
  /** Every id the script looked up: each must be in the page's HTML. */
  const idsUsed = new Set<string>();
  const element = (id: string) => {
    idsUsed.add(id);
    if (!byId.has(id)) {
      const tag = new RegExp(`<[a-z]+ [^>]*id="${id}"[^>]*>`).exec(page.html)?.[0] ?? '';
      byId.set(id, Object.assign(new FakeElement(), { hidden: / hidden[ >]/.test(tag) }));
    }
    return byId.get(id)!;
  };
  const removeButtons = ['anthropic', 'openai', 'google'].map((provider) => {
    const button = new FakeElement();
    button.setAttribute('data-provider', provider);
    bySelector.set(`.remove-key[data-provider="${provider}"]`, button);
    return button;
  });
  const document = {
    body: { getAttribute: (name: string) => (name === 'data-page' ? page.path : null) },
    getElementById: element,
    createElement: (tag: string) => Object.assign(new FakeElement(), { tag }),
    querySelector: (selector: string) => {
      const id = /^#([\w-]+)/.exec(selector)?.[1];
      if (id) idsUsed.add(id);
      if (!bySelector.has(selector)) bySelector.set(selector, new FakeElement());
      return bySelector.get(selector)!;
    },
    querySelectorAll: (selector: string) => (selector === '.remove-key' ? removeButtons : []),
  };
  const items = new Map<string, string>(Object.entries(storedItems));
  const window = {
    sessionStorage: {
      getItem: (name: string) => items.get(name) ?? null,
      setItem: (name: string, value: string) => void items.set(name, value),
      removeItem: (name: string) => void items.delete(name),
    },
    // A page's requests go to its own origin, by path.
    fetch: (path: string, init: RequestInit) => fetch(new URL(path, origin), init),
    URLSearchParams,
    AbortController,
    TextDecoder,
    confirm: () => true,
  };
  runInNewContext(script, { document, window });
  return { element, select: (selector: string) => bySelector.get(selector), idsUsed, sessionStorage: window.sessionStorage };
}

/** The pages' script's helpers, run in Node with no document (so nothing starts). */
export function scriptHelpers(script: string) {
  const context: Record<string, unknown> = {};
  runInNewContext(script, context);
  return context as {
    keysPatchBody(values: Record<string, string>): Record<string, string>;
    readEvents(text: string): { events: string[]; rest: string };
    describeKey(label: string, key: unknown): string;
    NO_MODELS: string;
  };
}
