package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** random-two's O(1) draw (an alias table) is exactly proportional to the weights, not only roughly. */
class WeightedDrawTest {

    /** Answers the draw's two questions with the given column and number. */
    private static RandomGenerator fixed(int column, long x) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int nextInt(int bound) {
                return column;
            }

            @Override
            public long nextLong(long bound) {
                return x;
            }
        };
    }

    @Test
    void everyOutcomeOfTheTwoRandomNumbersCountsExactlyInProportion() {
        SplittableRandom random = new SplittableRandom(5);
        for (int round = 0; round < 50; round++) {
            List<FakeEndpoint> list = FakeEndpoint.servers(1 + random.nextInt(30));
            list.forEach(e -> e.weight = 1 + random.nextInt(50));
            RandomTwo.Weights<FakeEndpoint> w = new RandomTwo.Weights<>(list);
            long[] hits = new long[list.size()];
            for (int column = 0; column < list.size(); column++) {
                for (long x = 0; x < w.total(); x++) {
                    hits[w.draw(fixed(column, x))]++;
                }
            }
            for (int i = 0; i < list.size(); i++) {
                // n columns x total numbers: endpoint i owns weight_i x n of them
                assertEquals(list.get(i).weight * (long) list.size(), hits[i], "round " + round + ", endpoint " + i);
            }
        }
    }
}
