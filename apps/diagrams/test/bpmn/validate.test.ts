/**
 * The admission instance of bpmn-moddle (read-only element fields as data properties instead of
 * per-element getters, issue 17) gives exactly the stock instance's verdicts and messages: real
 * diagrams pass, tolerated warnings stay tolerated, and every kind of refusal keeps its message.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { defaultDiagramXml } from "../../src/bpmn/default-diagram.ts";
import { parseOutcome } from "../../src/bpmn/validate.ts";
import { generateLargeBpmn } from "../db/large-bpmn.ts";

const fixture = (name: string) => readFile(new URL(`../fixtures/${name}`, import.meta.url), "utf8");

const withStart = (extra: string) =>
  defaultDiagramXml().replace('<bpmn:startEvent id="StartEvent_1" />', `<bpmn:startEvent id="StartEvent_1" />${extra}`);

const verdict = async (xml: string, purpose: "model" | "admission") => {
  const outcome = await parseOutcome(xml, purpose);
  return outcome.ok ? "ok" : outcome.message;
};

describe("admission parse", () => {
  it("agrees with the stock bpmn-moddle instance on good and bad documents", async () => {
    const documents: [string, string | RegExp][] = [
      [await fixture("A.1.0.bpmn"), "ok"], // declares ISO-8859-1: a tolerated warning
      [await fixture("C.1.0.bpmn"), "ok"],
      [await fixture("C.1.1.bpmn"), "ok"],
      [await fixture("C.8.0.bpmn"), "ok"],
      [defaultDiagramXml(), "ok"],
      [generateLargeBpmn(200 * 1024), "ok"],
      [withStart('<bpmn:sendTask id="S" messageRef="Missing_1" />'), "ok"], // unresolved reference: tolerated
      ["<definitions", /^invalid BPMN XML/],
      ["<bpmn:definitions", /^invalid BPMN XML/],
      ['<?xml version="1.0"?><note xmlns="urn:x"><to>x</to></note>', /^not a BPMN 2.0 document/],
      ['<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>', /^not a BPMN 2.0 document/],
      [withStart('<bpmn:task id="StartEvent_1" />'), /duplicate ID <StartEvent_1>/],
      [withStart('<bpmn:bogus id="B" />'), /unknown type <bpmn:Bogus>/],
      [withStart('<bpmn:task id="T"><bpmn:bogusChild /></bpmn:task>'), /^invalid BPMN XML/],
      [withStart('<bpmn:task id="T" name="a &amp; b" isForCompensation="true" />'), "ok"],
      [withStart('<bpmn:task id="T" name="unclosed />'), /^invalid BPMN XML/],
    ];
    for (const [xml, expected] of documents) {
      const stock = await verdict(xml, "model");
      if (typeof expected === "string") expect(stock, xml.slice(0, 200)).toBe(expected);
      else expect(stock, xml.slice(0, 200)).toMatch(expected);
      expect(await verdict(xml, "admission"), xml.slice(0, 200)).toBe(stock);
    }
  });

  it("builds elements with the same types, fields and enumerable keys", async () => {
    const xml = await fixture("C.8.0.bpmn");
    const stock = await parseOutcome(xml, "model");
    const admission = await parseOutcome(xml, "admission");
    if (!stock.ok || !admission.ok) throw new Error("the fixture must parse");
    const walk = (element: unknown, out: string[] = []): string[] => {
      if (!element || typeof element !== "object") return out;
      const e = element as Record<string, unknown>;
      if (typeof e.$type === "string") out.push(`${e.$type} ${Object.keys(e).join(",")} ${JSON.stringify(e.$attrs)}`);
      for (const value of Object.values(e)) {
        if (Array.isArray(value)) for (const child of value) walk(child, out);
        else if (value && typeof value === "object" && (value as { $parent?: unknown }).$parent === element) walk(value, out);
      }
      return out;
    };
    const a = walk(admission.root);
    expect(a.length).toBeGreaterThan(50);
    expect(a).toEqual(walk(stock.root));
    expect(() => {
      (admission.root as { $type: string }).$type = "bpmn:Other";
    }).toThrow(TypeError); // read-only, as the stock getter is
  });
});
