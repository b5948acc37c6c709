import { writeLineChart } from "@minimind/cli";

const steps = [0, 100, 200, 300];
const written = await writeLineChart(
  "run/loss",
  [
    { name: "train", points: steps.map((x, i) => ({ x, y: [8.7, 5.1, 3.9, 3.4][i] ?? 0 })) },
    { name: "held out", points: steps.map((x, i) => ({ x, y: [8.7, 5.4, 4.3, 3.9][i] ?? 0 })) },
  ],
  { title: "pretrain loss" },
);
console.log(written); // { svg: "run/loss.svg", png: "run/loss.png" }, or pngError saying why there is no PNG
