"""Sample records for the augmentation tests, written for them: prose of several sentences, a
list, a yes/no answer, a short answer, a record with context, and prose in French."""

from __future__ import annotations

from instructune.data.record import Record

PROSE = ("Bread rises because yeast eats sugar and releases carbon dioxide. The gas is trapped by a network "
         "of gluten, which stretches like a balloon. Warmth speeds the yeast up, while cold slows it down. "
         "Bakers use this to plan when the dough will be ready. A long, cool rise also gives the bread more "
         "flavour.")
LIST = "1. Check the tyre pressure.\n2. Oil the chain.\n3. Test both brakes.\n4. Tighten loose bolts."
FRENCH = ("Le pain lève parce que la levure mange le sucre et rejette du gaz carbonique. Ce gaz reste pris "
          "dans le réseau de gluten, qui s'étire comme un ballon. La chaleur rend la levure plus active, "
          "alors que le froid la ralentit. Une pousse longue et fraîche donne aussi plus de goût au pain.")
YES = ("Yes, it is safe for most people. Moderate amounts of coffee do not harm healthy adults. People who "
       "are pregnant should limit how much they drink. Caffeine late in the day can disturb sleep.")

SAMPLES = [
    Record(id="prose", instruction="Explain why bread dough rises.", response=PROSE),
    Record(id="list", instruction="How should I service a bicycle before a long trip?", response=LIST),
    Record(id="yes", instruction="Is drinking coffee every day safe?", response=YES),
    Record(id="short", instruction="Name the largest planet in the solar system.",
           response="Jupiter is the largest planet. It is a gas giant with a mass of 1,898 quintillion tonnes."),
    Record(id="context", instruction="Summarize the passage in two sentences.",
           context="The town council voted to open the old railway line as a walking path. Work starts in "
                   "May and should take a year. Local shops hope the path will bring more visitors.",
           response="The council will turn the old railway line into a walking path, with work starting in "
                    "May. Shops in town expect more visitors once it opens."),
    Record(id="french", instruction="Explain in French why bread dough rises.", response=FRENCH),
]
