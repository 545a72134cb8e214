import type { BackendChoice } from '@skipnet/backend';
import { element } from './page.ts';

/** Shows (and logs, as the CLI prints it) the backend chosen and why each better one was passed over. */
export function showBackend(choice: BackendChoice, log: (line: string) => void): void {
  const panel = element('backend-panel');
  panel.replaceChildren();
  const chosen = document.createElement('p');
  chosen.innerHTML = '<strong>backend</strong> ';
  chosen.append(`${choice.name} — ${choice.device}`);
  panel.append(chosen);
  const list = document.createElement('ul');
  for (const p of choice.passedOver) {
    const item = document.createElement('li');
    item.textContent = `passed over ${p.name}: ${p.reason}`;
    list.append(item);
  }
  if (choice.passedOver.length > 0) panel.append(list);
  log(`backend: ${choice.name} — ${choice.device}`);
  for (const p of choice.passedOver) log(`  passed over ${p.name}: ${p.reason}`);
}
