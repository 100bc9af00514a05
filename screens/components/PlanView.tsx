import React from 'react';
import { Pager } from './Pager.js';
import { factLines, wrapText, type Line } from '../../source/text-wrap.js';
import type { Plan } from '../../source/steps/context.js';

/** A step's plan as lines wrapped to the width: facts, warnings, then what apply will do. */
export function planLines(title: string, plan: Plan, columns: number): Line[] {
  return [
    ...wrapText(`Plan: ${title}`, columns).map((text) => ({ text, bold: true })),
    ...factLines(plan.facts, columns).map((text) => ({ text })),
    ...plan.warnings.flatMap((w) => wrapText(w, columns, '  ! ', '    ').map((text) => ({ text, colour: 'yellow' as const }))),
    ...(plan.actions.length === 0 ? wrapText('Nothing to do: everything is already in place.', columns, '  ').map((text) => ({ text })) : []),
    ...plan.actions.flatMap((a) => wrapText(a, columns, '  - ', '    ').map((text) => ({ text }))),
  ];
}

/** The plan in a pager of `height` rows: a long plan scrolls instead of running off the screen. */
export function PlanView({ title, plan, columns, height }: { title: string; plan: Plan; columns: number; height: number }) {
  return <Pager lines={planLines(title, plan, columns)} height={height} />;
}
