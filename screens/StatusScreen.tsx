import React, { useEffect, useState } from 'react';
import { Box, Text, useApp, useStdout } from 'ink';
import { KeyboardProvider } from './keys/KeyboardProvider.js';
import { useKeys } from './keys/useKeys.js';
import { SectionTabs } from './components/SectionTabs.js';
import { RowList } from './components/RowList.js';
import { DetailPane } from './components/DetailPane.js';
import { EventPane } from './components/EventPane.js';
import { LevelMark } from './components/LevelMark.js';
import { useSnapshotPoll, type LoadSnapshot } from './hooks/useSnapshotPoll.js';
import { sectionRows } from './status-rows.js';
import { colour } from './theme.js';
import { wrapText } from '../source/text-wrap.js';
import { SECTION_ORDER, SECTION_TITLE, type SectionName } from '../source/status/types.js';

export interface StatusScreenProps {
  /** Collects a snapshot; the screen never touches Vault, processes or files itself. */
  load: LoadSnapshot;
  intervalMs: number;
  env?: string | undefined;
}

/**
 * The live status screen: section tabs, the current section's rows, the selected row's details
 * on enter, the newest events in a log pane. Keys: q quits, tab / shift-tab / ← → change section,
 * ↑ ↓ select, enter shows details (esc or enter closes), r refreshes now.
 */
export function StatusScreen(props: StatusScreenProps) {
  const { exit } = useApp();
  return (
    <KeyboardProvider onInterrupt={() => exit()}>
      <Status {...props} />
    </KeyboardProvider>
  );
}

function Status({ load, intervalMs, env }: StatusScreenProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const poll = useSnapshotPoll(load, intervalMs);
  const [section, setSection] = useState<SectionName>('vault');
  const [selected, setSelected] = useState(0);
  const [details, setDetails] = useState(false);
  const [, tick] = useState(0);
  const rowsTotal = stdout?.rows ?? 24;
  const columns = stdout?.columns || 80;

  // Once a second, so "next in Ns" counts down.
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);

  const rows = poll.snapshot ? sectionRows(poll.snapshot, section) : [];
  // Functional updates: keys that arrive together (a paste, a busy machine) each move one section.
  const move = (delta: number) => {
    setSection((current) => SECTION_ORDER[(SECTION_ORDER.indexOf(current) + delta + SECTION_ORDER.length) % SECTION_ORDER.length]!);
    setSelected(0);
    setDetails(false);
  };

  // Keys arrive one at a time through the keyboard provider: `Tab Tab Tab` moves three sections.
  useKeys((input, key) => {
    if (input === 'q') exit();
    else if (key.escape) setDetails(false);
    else if (key.tab && key.shift) move(-1);
    else if (key.tab || key.rightArrow) move(1);
    else if (key.leftArrow) move(-1);
    else if (key.upArrow) setSelected((s) => Math.max(0, s - 1));
    else if (key.downArrow) setSelected((s) => Math.min(Math.max(0, rows.length - 1), s + 1));
    else if (key.return) setDetails((d) => !d && rows.length > 0);
    else if (input === 'r') poll.refresh();
  });

  const s = poll.snapshot;
  const health = s?.health;
  const next = poll.nextAt ? Math.max(0, Math.round((poll.nextAt - Date.now()) / 1000)) : undefined;
  const status = poll.refreshing ? 'refreshing' : next !== undefined ? `next in ${next}s${poll.failures ? ` (backing off ×${2 ** Math.min(poll.failures, 16)})` : ''}` : '';
  const eventHeight = 3;
  const current = s?.sections[section];
  // The section's reason wraps under its title: a reason is what the operator needs, whole.
  const title = wrapText(`${SECTION_TITLE[section]}${current?.reason ? ` — ${current.reason}` : ''}`, columns);
  const stamp = s ? `· ${s.generatedAt.slice(11, 19)}Z · ${status}` : '';
  const error = poll.error ? wrapText(`Refresh failed: ${poll.error}`, columns) : [];
  // header 1-2, tabs 1, title, events 1+3, error, footer 1, one spare row.
  const headerRows = 27 + (s?.env ?? env ?? '(no env)').length + stamp.length > columns ? 2 : 1;
  const listHeight = Math.max(3, rowsTotal - headerRows - 1 - title.length - (eventHeight + 1) - error.length - 1 - 1);
  const row = rows[Math.min(selected, Math.max(0, rows.length - 1))];

  return (
    <Box flexDirection="column">
      <Box>
        <Box flexShrink={0}>
          <Text bold color={colour('cyan')}>
            certwright status
          </Text>
          <Text> · {s?.env ?? env ?? '(no env)'} · </Text>
          {health ? (
            <>
              <LevelMark level={health} />
              <Text bold> {health === 'ok' ? 'HEALTHY' : health === 'warn' ? 'WARNING' : 'FAILING'}</Text>
            </>
          ) : (
            <Text dimColor>loading</Text>
          )}
        </Box>
        {headerRows === 1 ? <Text dimColor> {stamp}</Text> : null}
      </Box>
      {headerRows === 2 ? <Text dimColor>{stamp}</Text> : null}
      {s ? <SectionTabs sections={SECTION_ORDER.map((n) => ({ name: n, level: s.sections[n].state }))} current={section} /> : <Text dimColor>collecting the first snapshot</Text>}
      <Text>
        <Text bold>{SECTION_TITLE[section]}</Text>
        <Text dimColor>{title.join('\n').slice(SECTION_TITLE[section].length)}</Text>
      </Text>
      {details && row ? (
        <DetailPane row={row} height={listHeight} columns={columns} />
      ) : (
        <RowList rows={rows} selected={Math.min(selected, Math.max(0, rows.length - 1))} height={listHeight} columns={columns} empty={current?.state === 'unknown' ? `unknown: ${current.reason ?? ''}` : s ? 'nothing here' : ''} />
      )}
      <EventPane events={s?.sections.events.latest ?? []} height={eventHeight} columns={columns} />
      {error.length ? <Text color={colour('red')}>{error.join('\n')}</Text> : null}
      <Text dimColor>
        q quit · tab/←→ section · ↑↓ select · enter details · r refresh
      </Text>
    </Box>
  );
}
