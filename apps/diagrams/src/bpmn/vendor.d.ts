/**
 * @module bpmn/vendor
 * The small part of bpmn-moddle's and bpmn-js-differ's APIs this service uses (neither ships
 * declarations for its main entry point).
 */
declare module "bpmn-moddle" {
  export interface ModdleWarning {
    message: string;
    element?: unknown;
    property?: string;
    value?: unknown;
  }
  export interface ModdleElement {
    $type: string;
    id?: string;
    [key: string]: unknown;
  }
  export interface FromXmlResult {
    rootElement: ModdleElement;
    warnings: ModdleWarning[];
    references: unknown[];
    elementsById: Record<string, ModdleElement>;
  }
  export class BpmnModdle {
    constructor(packages?: Record<string, unknown>, options?: Record<string, unknown>);
    fromXML(xml: string, typeName?: string, options?: Record<string, unknown>): Promise<FromXmlResult>;
    /** moddle's property helper (not documented API): `define` gives each new element `$type`, `$attrs`, `$parent`. */
    readonly properties?: { define(target: object, name: string, options: PropertyDescriptor): void };
  }
}

declare module "bpmn-js-differ" {
  import type { ModdleElement } from "bpmn-moddle";
  export interface BpmnChanges {
    _added: Record<string, ModdleElement>;
    _removed: Record<string, ModdleElement>;
    _changed: Record<string, { model: ModdleElement; attrs: Record<string, { oldValue: unknown; newValue: unknown }> }>;
    _layoutChanged: Record<string, ModdleElement>;
  }
  export function diff(a: ModdleElement, b: ModdleElement): BpmnChanges;
}
