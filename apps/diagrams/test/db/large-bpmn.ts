/**
 * @module test/db/large-bpmn
 * Generates a valid, realistic BPMN 2.0 document of about `targetBytes`: one process with a chain of
 * tasks, gateways and sequence flows, with diagram interchange (DI) shapes and edges, as modelers
 * write them. Used by the compression measurement and the large-diagram round-trip test.
 */
export function generateLargeBpmn(targetBytes: number): string {
  const head = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Definitions_large" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_large" isExecutable="false">
    <bpmn:startEvent id="Start_0"><bpmn:outgoing>Flow_0</bpmn:outgoing></bpmn:startEvent>
`;
  const process: string[] = [];
  const shapes: string[] = [];
  let size = head.length + 400;
  let i = 0;
  while (size < targetBytes) {
    const x = 200 + (i % 40) * 160;
    const y = 100 + Math.floor(i / 40) * 120;
    const kind = i % 7 === 3 ? "userTask" : i % 11 === 5 ? "serviceTask" : "task";
    const p = `    <bpmn:${kind} id="Activity_${i}" name="Step ${i}: review request ${(i * 7919) % 10007}">
      <bpmn:incoming>Flow_${i}</bpmn:incoming>
      <bpmn:outgoing>Flow_${i + 1}</bpmn:outgoing>
    </bpmn:${kind}>
    <bpmn:sequenceFlow id="Flow_${i}" sourceRef="${i === 0 ? "Start_0" : `Activity_${i - 1}`}" targetRef="Activity_${i}" />
`;
    const s = `      <bpmndi:BPMNShape id="Activity_${i}_di" bpmnElement="Activity_${i}">
        <dc:Bounds x="${x}" y="${y}" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_${i}_di" bpmnElement="Flow_${i}">
        <di:waypoint x="${x - 60}" y="${y + 40}" />
        <di:waypoint x="${x}" y="${y + 40}" />
      </bpmndi:BPMNEdge>
`;
    process.push(p);
    shapes.push(s);
    size += p.length + s.length;
    i++;
  }
  return `${head}${process.join("")}    <bpmn:endEvent id="End_0"><bpmn:incoming>Flow_${i}</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_${i}" sourceRef="Activity_${i - 1}" targetRef="End_0" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_large">
    <bpmndi:BPMNPlane id="Plane_large" bpmnElement="Process_large">
${shapes.join("")}    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
`;
}
